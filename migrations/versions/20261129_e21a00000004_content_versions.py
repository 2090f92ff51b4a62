"""Content edited by staff, versioned, with translation review (#21 points 1-2)

Revision ID: e21a00000004
Revises: e22a00000003
Create Date: 2026-11-29 14:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hotline.models


revision: str = 'e21a00000004'
down_revision: str | None = 'e22a00000003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contentrevision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("figures_changed", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hotline.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", hotline.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["staffuser.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["staffuser.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contentrevision_status", "contentrevision", ["status"], unique=False)
    op.create_index("ix_contentrevision_subject", "contentrevision", ["kind", "subject", "language"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_contentrevision_subject", table_name="contentrevision")
    op.drop_index("ix_contentrevision_status", table_name="contentrevision")
    op.drop_table("contentrevision")
