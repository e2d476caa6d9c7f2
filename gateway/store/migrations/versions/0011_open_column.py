"""the open feedback column (issue 18): full-text search over the published question and answer, and
an index that lists and counts what is published, newest first

SQLite: an FTS5 table over `publications` (external content: the texts are stored once, in
publications), kept in step by triggers on insert, delete (a case's erasure cascades here too) and a
change of the texts. PostgreSQL: a generated tsvector of the texts under the Finnish and the Swedish
configuration, with a GIN index. Neither is SQLAlchemy's to know: their names contain "fts", which the
schema comparison of tests/store/test_store.py leaves out (docs: gateway/store/column.py).

A later migration that recreates `publications` on SQLite (batch mode's copy-and-rename) drops these
triggers with the old table: it must create them again (`_SQLITE_TRIGGERS`) and rebuild the index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# unicode61 keeps ä, ö and å apart from a and o (they are letters of their own in Finnish and Swedish);
# no column sizes, as nothing ranks by them; prefix indexes for the stems the search asks for.
_SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE publications_fts USING fts5(question, answer, content='publications',"
    " content_rowid='case_id', tokenize='unicode61 remove_diacritics 0', columnsize=0, prefix='3 4 5')"
)
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER publications_fts_insert AFTER INSERT ON publications BEGIN"
    " INSERT INTO publications_fts (rowid, question, answer) VALUES (new.case_id, new.question, new.answer);"
    " END",
    "CREATE TRIGGER publications_fts_delete AFTER DELETE ON publications BEGIN"
    " INSERT INTO publications_fts (publications_fts, rowid, question, answer)"
    " VALUES ('delete', old.case_id, old.question, old.answer);"
    " END",
    "CREATE TRIGGER publications_fts_update AFTER UPDATE OF case_id, question, answer ON publications BEGIN"
    " INSERT INTO publications_fts (publications_fts, rowid, question, answer)"
    " VALUES ('delete', old.case_id, old.question, old.answer);"
    " INSERT INTO publications_fts (rowid, question, answer) VALUES (new.case_id, new.question, new.answer);"
    " END",
)
# Both configurations: a Finnish text's words get Finnish stems, a Swedish one's Swedish stems, and a
# query is stemmed both ways (gateway/store/column.py).
_PG_DOCUMENT = (
    "to_tsvector('finnish'::regconfig, question || ' ' || answer)"
    " || to_tsvector('swedish'::regconfig, question || ' ' || answer)"
)


def upgrade() -> None:
    # Lists and counts the published (withdrawn_at IS NULL), newest first, from the index alone.
    op.create_index(
        'ix_publications_withdrawn_at_published_at_case_id',
        'publications',
        ['withdrawn_at', 'published_at', 'case_id'],
    )
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(_SQLITE_TABLE)
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO publications_fts (publications_fts) VALUES ('rebuild')")  # what is there
    else:
        op.execute(
            f'ALTER TABLE publications ADD COLUMN fts_document tsvector GENERATED ALWAYS AS ({_PG_DOCUMENT}) STORED'
        )
        op.execute('CREATE INDEX ix_publications_fts_document ON publications USING gin (fts_document)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('update', 'delete', 'insert'):
            op.execute(f'DROP TRIGGER IF EXISTS publications_fts_{name}')
        op.execute('DROP TABLE IF EXISTS publications_fts')
    else:
        op.execute('DROP INDEX IF EXISTS ix_publications_fts_document')
        op.execute('ALTER TABLE publications DROP COLUMN IF EXISTS fts_document')
    op.drop_index('ix_publications_withdrawn_at_published_at_case_id', table_name='publications')
