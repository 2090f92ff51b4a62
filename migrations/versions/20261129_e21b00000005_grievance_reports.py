"""Grievance reports, closing the loop, leaflets (#21 points 3-5)

Revision ID: e21b00000005
Revises: e21a00000004
Create Date: 2026-11-29 14:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hotline.models


revision: str = 'e21b00000005'
down_revision: str | None = 'e21a00000004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # How a decided complaint's family learnt the outcome, and its rating (hotline/complaints/closing.py).
    op.create_table(
        'complaint_outcome',
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('outbound_key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
        sa.Column('status_seen_at', hotline.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.Column('rated_at', hotline.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
        sa.PrimaryKeyConstraint('complaint_id'),
    )


def downgrade() -> None:
    op.drop_table('complaint_outcome')
