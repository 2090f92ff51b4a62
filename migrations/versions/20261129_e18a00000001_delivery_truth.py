"""Delivery truth (#18): provider ids at acceptance, kept reports, one opt-out rule

Revision ID: e18a00000001
Revises: 355495827d4b
Create Date: 2026-11-29 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hotline.models


revision: str = 'e18a00000001'
down_revision: str | None = '355495827d4b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reports already wait in deliveryreport (ab010b3508d7); what is new is Twilio's own block on a phone.
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('twilio_blocked_at', hotline.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('twilio_blocked_at')
