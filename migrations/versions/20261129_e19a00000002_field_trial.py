"""Field trial (#19): village on enrolment, alerts grouped, accounts' areas

Revision ID: e19a00000002
Revises: e18a00000001
Create Date: 2026-11-29 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hotline.models


revision: str = 'e19a00000002'
down_revision: str | None = 'e18a00000001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One alert a day per phone holds all its danger messages; an existing alert holds its one message.
    with op.batch_alter_table('healthalert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_ids', sa.JSON(), nullable=False, server_default='[]'))
    healthalert = sa.table('healthalert', sa.column('id', sa.Integer), sa.column('message_id', sa.Integer),
                           sa.column('message_ids', sa.JSON))
    connection = op.get_bind()
    for alert_id, message_id in connection.execute(
        sa.select(healthalert.c.id, healthalert.c.message_id).where(healthalert.c.message_id.is_not(None))
    ):
        connection.execute(healthalert.update().where(healthalert.c.id == alert_id).values(message_ids=[message_id]))
    with op.batch_alter_table('healthalert', schema=None) as batch_op:
        batch_op.alter_column('message_ids', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('healthalert', schema=None) as batch_op:
        batch_op.drop_column('message_ids')
