"""outbox by case: the guards and threading look up a case's mail on every message

Without it each count of a case's recent mail scanned the whole outbox, a cost that grew with the
table (bench/RESULTS.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:30:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_case_id_kind', 'outbox', ['case_id', 'kind'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_case_id_kind', table_name='outbox')
