"""the photos a moderator ticked when publishing a case (issue 18)

A row per published photo: the publication's case and the attachment. Both foreign keys cascade, so a
publication replaced or a case erased takes its photos' rows along. No new index: the primary key
(case_id, attachment_id) serves the one question asked, "is this attachment published with this case".

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'publication_photos',
        sa.Column('case_id', Id, nullable=False),
        sa.Column('attachment_id', Id, nullable=False),
        sa.ForeignKeyConstraint(
            ['case_id'],
            ['publications.case_id'],
            name='fk_publication_photos_case_id_publications',
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['attachment_id'],
            ['attachments.id'],
            name='fk_publication_photos_attachment_id_attachments',
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('case_id', 'attachment_id', name='pk_publication_photos'),
    )


def downgrade() -> None:
    op.drop_table('publication_photos')
