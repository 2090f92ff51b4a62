"""Polls, radio quizzes and awareness surveys by SMS (#22)

Revision ID: e22a00000003
Revises: e19a00000002
Create Date: 2026-11-29 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hotline.models


revision: str = 'e22a00000003'
down_revision: str | None = 'e19a00000002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('poll',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('keyword', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('keyword_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('starts_at', hotline.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', hotline.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('area_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('keep', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('baseline_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hotline.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', hotline.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['baseline_id'], ['poll.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['staffuser.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('keyword_key')
    )
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_status'), ['status'], unique=False)

    op.create_table('pollquestion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=True),
    sa.Column('feedback', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'position', name='uq_pollquestion_poll_position')
    )
    with op.batch_alter_table('pollquestion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pollquestion_poll_id'), ['poll_id'], unique=False)

    op.create_table('pollinvitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('outbound_key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('misses', sa.Integer(), nullable=False),
    sa.Column('created_at', hotline.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', hotline.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'contact_id', name='uq_pollinvitation_poll_contact')
    )
    with op.batch_alter_table('pollinvitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pollinvitation_contact_id'), ['contact_id'], unique=False)

    op.create_table('pollanswer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('choice', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('municipality_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('invited', sa.Boolean(), nullable=False),
    sa.Column('answered_at', hotline.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.ForeignKeyConstraint(['question_id'], ['pollquestion.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('question_id', 'contact_id', name='uq_pollanswer_question_contact')
    )
    with op.batch_alter_table('pollanswer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pollanswer_answered_at'), ['answered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pollanswer_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pollanswer_poll_id'), ['poll_id'], unique=False)


def downgrade() -> None:
    op.drop_table('pollanswer')
    op.drop_table('pollinvitation')
    op.drop_table('pollquestion')
    op.drop_table('poll')
