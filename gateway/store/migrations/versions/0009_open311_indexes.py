"""cases by creation time: Open311's listing, newest first within a date range (issue 17)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_created_at_id', 'cases', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_created_at_id', table_name='cases')
