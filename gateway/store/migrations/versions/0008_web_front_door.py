"""the web front door (issue 17): submissions' tracking codes and idempotency keys on receipts, what a
submission tells besides its text on cases, publications and API clients

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.store.types import UTCDateTime


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('receipts') as batch:
        batch.add_column(sa.Column('tracking_code', sa.String(32), nullable=True))
        batch.add_column(sa.Column('client', sa.String(64), nullable=False, server_default=''))
        batch.add_column(sa.Column('idempotency_key', sa.String(255), nullable=True))
    op.create_index('ix_receipts_tracking_code', 'receipts', ['tracking_code'], unique=True)
    op.create_index(
        'ix_receipts_client_idempotency_key', 'receipts', ['client', 'idempotency_key'], unique=True
    )
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('category', sa.String(64), nullable=True))
        batch.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch.add_column(sa.Column('longitude', sa.Float(), nullable=True))
        batch.add_column(sa.Column('address', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('resident_phone', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('publish_consent', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index('ix_cases_updated_at', 'cases', ['updated_at'], unique=False)
    op.create_table(
        'publications',
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('published_at', UTCDateTime(), nullable=False),
        sa.Column('published_by', sa.Text(), nullable=False),
        sa.Column('withdrawn_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['case_id'], ['cases.id'], name='fk_publications_case_id_cases', ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('case_id', name='pk_publications'),
    )
    op.create_index('ix_publications_published_at', 'publications', ['published_at'], unique=False)
    op.create_table(
        'api_clients',
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('key_sha256', sa.String(64), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('disabled_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name='pk_api_clients'),
        sa.UniqueConstraint('key_sha256', name='uq_api_clients_key_sha256'),
    )


def downgrade() -> None:
    op.drop_table('api_clients')
    op.drop_index('ix_publications_published_at', table_name='publications')
    op.drop_table('publications')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later have it): batch mode would copy and drop
    # the tables, and SQLite's DROP TABLE deletes the rows that cascade from them (every message body,
    # every case event) on the way.
    op.drop_index('ix_cases_updated_at', table_name='cases')
    for column in ('publish_consent', 'resident_phone', 'address', 'longitude', 'latitude', 'category'):
        op.execute(f'ALTER TABLE cases DROP COLUMN {column}')
    op.drop_index('ix_receipts_client_idempotency_key', table_name='receipts')
    op.drop_index('ix_receipts_tracking_code', table_name='receipts')
    for column in ('idempotency_key', 'client', 'tracking_code'):
        op.execute(f'ALTER TABLE receipts DROP COLUMN {column}')
