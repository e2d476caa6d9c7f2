"""message bytes apart from the rows whose state changes: receipt_bodies and outbox_bodies

On SQLite every lease and state change of a receipt or an outbox row rewrote the whole message with it
(docs/decisions/0010-bodies-apart.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# (table, its id column's name in the bodies table, the bodies table, the bytes column)
MOVED = (('receipts', 'receipt_id', 'receipt_bodies', 'raw'), ('outbox', 'outbox_id', 'outbox_bodies', 'body'))


def upgrade() -> None:
    for table, key, bodies, column in MOVED:
        op.create_table(bodies,
        sa.Column(key, Id, nullable=False),
        sa.Column(column, sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint([key], [f'{table}.id'], name=op.f(f'fk_{bodies}_{key}_{table}'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint(key, name=op.f(f'pk_{bodies}'))
        )
        op.execute(f'INSERT INTO {bodies} ({key}, {column}) SELECT id, {column} FROM {table}')
        # Not batch mode on SQLite: it would drop and recreate the table, and with foreign keys on, dropping
        # it deletes its rows first, cascading to the bodies just copied. SQLite drops a plain column itself.
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, key, bodies, column in MOVED:
        op.add_column(table, sa.Column(column, sa.LargeBinary(), nullable=True))
        op.execute(f'UPDATE {table} SET {column} = (SELECT {column} FROM {bodies} WHERE {key} = {table}.id)')
        if not sqlite:  # SQLite cannot make a column NOT NULL without recreating the table (see upgrade)
            op.alter_column(table, column, existing_type=sa.LargeBinary(), nullable=False)
        op.drop_table(bodies)
