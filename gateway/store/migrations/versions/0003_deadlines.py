"""scheduled_tasks and case_clocks: deadline reminders, interim notices and alarms, each fired once

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.store.types import UTCDateTime


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scheduled_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('due_at', UTCDateTime(), nullable=False),
    sa.Column('planned_for', UTCDateTime(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('done_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_scheduled_tasks_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_tasks')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_scheduled_tasks_dedupe_key'))
    )
    with op.batch_alter_table('scheduled_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_tasks_case_id_state', ['case_id', 'state'], unique=False)
        batch_op.create_index('ix_scheduled_tasks_state_due_at', ['state', 'due_at'], unique=False)

    op.create_table('case_clocks',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status_seen', sa.String(length=16), nullable=False),
    sa.Column('due_seen', UTCDateTime(), nullable=True),
    sa.Column('waiting_since', UTCDateTime(), nullable=True),
    sa.Column('planned_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_clocks_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_clocks'))
    )


def downgrade() -> None:
    op.drop_table('case_clocks')
    with op.batch_alter_table('scheduled_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_tasks_state_due_at')
        batch_op.drop_index('ix_scheduled_tasks_case_id_state')

    op.drop_table('scheduled_tasks')
