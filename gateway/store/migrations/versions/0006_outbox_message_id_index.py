"""outbox by Message-ID: a bounce finds the mail it returns without scanning the whole outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:40:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_message_id', 'outbox', ['message_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_message_id', table_name='outbox')
