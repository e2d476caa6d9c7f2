"""The open feedback column's reads (issue 18): the published cases, newest first, filtered by topic,
office, area and words, with their count; one published case by its code. Only the publication's texts
and the case's public facts (code, topic, office, place) are read: never a name, an address, a contact
or the resident's own words.

Search, per database (migration 0011):
- SQLite: FTS5 over the question and the answer, tokenised by unicode61 (no stemmer for Finnish or
  Swedish there). Every word of a query becomes a prefix query on its `stem_prefix`: a case ending and
  then one final vowel come off ("lumesta" → `lum*`, which finds lumi, lumen, lumella, lumesta;
  "snöhögarna" → `snöhög*`).
- PostgreSQL: a tsvector of the texts under the Finnish and the Swedish configuration (Snowball
  stemmers) with a GIN index. A word matches when its Finnish stem, its Swedish stem or the same
  `stem_prefix` as on SQLite (as a prefix of the stored stems) matches, so that both databases find at
  least the same cases.
- Neither finds a form whose stem itself changes (consonant gradation: "lumi" and "lunta", "katu" and
  "kadulla"): that needs a dictionary (Voikko) that neither database has.
All words must match; the order stays newest first (no ranking): residents read the column as news.

Area: the case's point is tested against the area's polygon, read from areas.geojson at request time,
so that a changed area file applies to what was published before. The database narrows the cases to the
polygon's bounding box; the exact test runs in the caller over the narrow rows (id, latitude, longitude)
in one vectorised call, and only the page's rows are then read whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    TextClause,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    text,
)

from gateway.store.tables import cases, publication_photos, publications

MAX_WORDS = 8  # a longer query is cut: eight words that must all match are already very narrow
MAX_WORD = 40  # characters of a word that count
FEW = 500  # a search with at most this many matches reads them first (`_few_first`)

# (latitudes, longitudes) → whether each point is inside: the caller's exact test of an area.
PointTest = Callable[[Sequence[float], Sequence[float]], Sequence[bool]]


@dataclass(frozen=True, slots=True)
class Filters:
    """What the column is narrowed to; None and () mean no narrowing."""

    category: str | None = None
    department: str | None = None
    words: tuple[str, ...] = ()  # `search_words` of the query
    box: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    inside: PointTest | None = None  # the exact test within the box


@dataclass(frozen=True, slots=True)
class Entry:
    """A published case as the column shows it."""

    code: str
    question: str
    answer: str
    published_at: datetime
    category: str | None
    department: str | None
    language: str  # the case's language, which its public texts are written in
    photos: tuple[int, ...] = ()  # the attachments the moderator ticked; read for one case's page only


@dataclass(frozen=True, slots=True)
class Listing:
    total: int  # every published case the filters let through
    entries: tuple[Entry, ...]  # the page asked for, newest first


# -- query words ----------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")  # letters and digits: what unicode61 and the PostgreSQL parser call words
_VOWELS = frozenset("aeiouyåäö")
# Endings to take off before the prefix search, longest first: Finnish case and plural endings and
# Swedish definite, plural and participle endings. A heuristic, not a stemmer: it only has to leave a
# prefix that the word's other forms share.
_ENDING_WORDS = """
    issa issä ista istä illa illä ilta iltä ille iksi ineen ssa ssä sta stä lla llä lta ltä lle ksi tta ttä
    seen han hin hon hun hyn hän hön ja jä na nä ta tä en in an än t n a ä
    arnas ernas ornas arna erna orna ningen ningar ning ande ende aste ade ar er or et at ad ns s e
"""
_ENDINGS = tuple(sorted(set(_ENDING_WORDS.split()), key=len, reverse=True))


def search_words(query: str) -> tuple[str, ...]:
    """The words of a resident's query, lower-case, at most `MAX_WORDS` of them without repeats."""
    words: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFC", query).lower()):
        word = word[:MAX_WORD]
        if word not in words:
            words.append(word)
    return tuple(words[:MAX_WORDS])


def stem_prefix(word: str) -> str:
    """The prefix that *word*'s inflected forms share, as far as endings tell: the longest known ending
    and then one final vowel off, keeping at least three letters ("kadulla" → "kad", "lumi" → "lum")."""
    if len(word) <= 3 or word.isdigit():
        return word
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            break
    if len(word) > 3 and word[-1] in _VOWELS:
        word = word[:-1]
    return word


def _is_prefix(word: str) -> bool:
    """Short words and numbers are matched whole: a prefix of two letters would match nearly everything."""
    return len(word) >= 3 and not word.isdigit()


def fts5_query(words: Sequence[str]) -> str:
    """SQLite FTS5's MATCH expression for *words*: every one as a quoted prefix, all required. The words
    hold only letters and digits (`search_words`), so no FTS5 syntax can be smuggled in."""
    terms = [f'"{stem_prefix(w)}"*' if _is_prefix(w) else f'"{w}"' for w in words]
    return " AND ".join(terms)


def _pg_match(words: Sequence[str]) -> TextClause:
    """PostgreSQL: every word's Finnish stem, Swedish stem or stem prefix is among the stored stems."""
    parts = []
    params: dict[str, str] = {}
    for i, word in enumerate(words):
        prefix = f"'{stem_prefix(word)}':*" if _is_prefix(word) else f"'{word}'"
        parts.append(
            f"(plainto_tsquery('finnish', :w{i}) || plainto_tsquery('swedish', :w{i})"
            f" || to_tsquery('simple', :p{i}))"
        )
        params |= {f"w{i}": word, f"p{i}": prefix}
    query = " && ".join(parts)
    return text(f"publications.fts_document @@ ({query})").bindparams(**params)


# -- reads ----------------------------------------------------------------------------------------------

_NEWEST_FIRST = (publications.c.published_at.desc(), publications.c.case_id.desc())
_ENTRY = select(
    cases.c.code,
    publications.c.question,
    publications.c.answer,
    publications.c.published_at,
    cases.c.category,
    cases.c.department,
    cases.c.language,
).join(cases, cases.c.id == publications.c.case_id)
_BY_CODE = _ENTRY.where(cases.c.code == bindparam("code"), publications.c.withdrawn_at.is_(None))
_BY_IDS = _ENTRY.where(publications.c.case_id.in_(bindparam("ids", expanding=True)))
_FTS_COUNT = text("SELECT count(*) FROM publications_fts WHERE publications_fts MATCH :match")
_FTS_WITHDRAWN = text(
    "SELECT count(*) FROM publications WHERE withdrawn_at IS NOT NULL AND EXISTS (SELECT 1 FROM"
    " publications_fts WHERE publications_fts.rowid = publications.case_id AND publications_fts MATCH :match)"
)


Term = ColumnElement[bool] | TextClause


def _conditions(conn: Connection, filters: Filters) -> tuple[list[Term], bool]:
    """The WHERE terms of *filters*, and whether they need the cases table."""
    terms: list[Term] = [publications.c.withdrawn_at.is_(None)]
    on_cases = False
    if filters.category is not None:
        terms.append(cases.c.category == filters.category)
        on_cases = True
    if filters.department is not None:
        terms.append(cases.c.department == filters.department)
        on_cases = True
    if filters.box is not None:
        min_lon, min_lat, max_lon, max_lat = filters.box
        terms.append(cases.c.latitude.between(min_lat, max_lat))
        terms.append(cases.c.longitude.between(min_lon, max_lon))
        on_cases = True
    if filters.words:
        if conn.dialect.name == "sqlite":
            matched = text("SELECT rowid FROM publications_fts WHERE publications_fts MATCH :match")
            matched = matched.bindparams(match=fts5_query(filters.words))
            terms.append(publications.c.case_id.in_(matched.columns(literal_column("rowid"))))
        else:
            terms.append(_pg_match(filters.words))
    return terms, on_cases


def published(
    conn: Connection, filters: Filters, offset: int = 0, limit: int = 20, *, count: bool = True
) -> Listing:
    """The published cases *filters* let through, newest first (by publication, then case), from
    *offset*; `total` counts them all (0 when not *count*: the feed needs no count)."""
    terms, on_cases = _conditions(conn, filters)
    if filters.inside is not None:
        return _published_in_area(conn, terms, filters.inside, offset, limit)
    total = _count(conn, filters, terms, on_cases) if count else 0
    if count and offset >= total:
        return Listing(total, ())
    page = _ENTRY.where(and_(*terms)).order_by(*_NEWEST_FIRST).offset(offset).limit(limit)
    if filters.words and count and total <= FEW and conn.dialect.name == "postgresql":
        page = _few_first(terms, on_cases).offset(offset).limit(limit)
    return Listing(total, tuple(_entry(row) for row in conn.execute(page)))


def _few_first(terms: list[Term], on_cases: bool) -> Select[Any]:
    """The page of a search with few matches on PostgreSQL: the matches first, through the GIN index,
    then sorted. Its planner, guessing hundreds of matches, walked the publications newest first and
    tested every one (12 matches among 50,000: 300 ms; this way 6 ms). For many matches that walk is
    the quicker, and stays (bench/RESULTS.md, issue 18)."""
    narrow = select(publications.c.case_id, publications.c.published_at)
    if on_cases:
        narrow = narrow.join(cases, cases.c.id == publications.c.case_id)
    matched = narrow.where(and_(*terms)).cte("matched").prefix_with("MATERIALIZED")
    return _ENTRY.join(matched, matched.c.case_id == publications.c.case_id).order_by(
        matched.c.published_at.desc(), matched.c.case_id.desc()
    )


def _count(conn: Connection, filters: Filters, terms: list[Term], on_cases: bool) -> int:
    if filters.words and not on_cases and conn.dialect.name == "sqlite":
        # FTS5 counts its matches from its index alone, withdrawn ones too (they stay indexed): take off
        # the few withdrawn. Matching every listed row against the match list took 15 ms at 50,000.
        match = {"match": fts5_query(filters.words)}
        matches = int(conn.execute(_FTS_COUNT, match).scalar_one())
        return matches - int(conn.execute(_FTS_WITHDRAWN, match).scalar_one())
    counted = select(func.count()).select_from(publications)
    if on_cases:
        counted = counted.join(cases, cases.c.id == publications.c.case_id)
    return int(conn.execute(counted.where(and_(*terms))).scalar_one())


def _published_in_area(
    conn: Connection, terms: list[Term], inside: PointTest, offset: int, limit: int
) -> Listing:
    """Within the box in SQL, inside the polygon by *inside*; then the page's rows whole, by id."""
    narrow: Select[Any] = (
        select(publications.c.case_id, cases.c.latitude, cases.c.longitude)
        .join(cases, cases.c.id == publications.c.case_id)
        .where(and_(*terms))
        .order_by(*_NEWEST_FIRST)
    )
    rows = conn.execute(narrow).all()
    hits = inside([r.latitude for r in rows], [r.longitude for r in rows]) if rows else []
    ids = [row.case_id for row, hit in zip(rows, hits, strict=True) if hit]
    wanted = ids[offset : offset + limit]
    if not wanted:
        return Listing(len(ids), ())
    page = conn.execute(_BY_IDS.add_columns(publications.c.case_id), {"ids": wanted})
    found = {row.case_id: row for row in page}
    return Listing(len(ids), tuple(_entry(found[i]) for i in wanted if i in found))


def published_case(conn: Connection, code: str) -> Entry | None:
    """The published case *code* (upper-case) names; None when it is unknown, unpublished or withdrawn."""
    row = conn.execute(_BY_CODE, {"code": code}).first()
    if row is None:
        return None
    photos = select(publication_photos.c.attachment_id).join(
        cases, cases.c.id == publication_photos.c.case_id
    )
    ids = conn.execute(photos.where(cases.c.code == code).order_by(publication_photos.c.attachment_id))
    return replace(_entry(row), photos=tuple(ids.scalars()))


def _entry(row: Any) -> Entry:
    return Entry(
        code=row.code,
        question=row.question,
        answer=row.answer,
        published_at=row.published_at,
        category=row.category,
        department=row.department,
        language=row.language,
    )
