"""staff accounts (issue 18): users, the departments of handlers, and server-side staff sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.store.types import UTCDateTime


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('email', sa.String(254), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('role', sa.String(16), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('disabled_at', UTCDateTime(), nullable=True),
        sa.Column('password_changed_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_users'),
        sa.UniqueConstraint('email', name='uq_users_email'),
    )
    op.create_table(
        'user_departments',
        sa.Column('user_id', Id, nullable=False),
        sa.Column('department', sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name='fk_user_departments_user_id_users', ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('user_id', 'department', name='pk_user_departments'),
    )
    op.create_table(
        'staff_sessions',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('user_id', Id, nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('csrf_token', sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name='fk_staff_sessions_user_id_users', ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name='pk_staff_sessions'),
    )
    op.create_index('ix_staff_sessions_user_id', 'staff_sessions', ['user_id'], unique=False)
    op.create_index('ix_staff_sessions_expires_at', 'staff_sessions', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_staff_sessions_expires_at', table_name='staff_sessions')
    op.drop_index('ix_staff_sessions_user_id', table_name='staff_sessions')
    op.drop_table('staff_sessions')
    op.drop_table('user_departments')
    op.drop_table('users')
