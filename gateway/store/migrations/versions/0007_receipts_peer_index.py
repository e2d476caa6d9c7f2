"""receipts by client address and time: new cases per SMTP client an hour (issue 15, backscatter)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:50:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_receipts_peer_received_at', 'receipts', ['peer', 'received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_receipts_peer_received_at', table_name='receipts')
