"""Moderation's reads and writes (issue 18): the answered cases waiting for a moderator, the published
ones, a case's publication and its ticked photos, withdrawing, and the one photo the public may fetch.
What may be published is decided in `gateway.casework.moderation`; this module only asks and stores."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, exists, func, or_, select, update

from gateway.store.tables import attachments, case_events, cases, publication_photos, publications, users


@dataclass(frozen=True, slots=True)
class Waiting:
    """An answered case that nobody has published yet."""

    code: str
    subject: str
    department: str | None
    category: str | None
    status: str
    channel: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Published:
    """A case in the open column (or taken out of it: `withdrawn_at`)."""

    code: str
    question: str
    answer: str
    published_at: datetime
    published_by: str
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored attachment of a case, with its bytes."""

    id: int
    filename: str
    content_type: str
    content: bytes


def waiting(
    conn: Connection, statuses: Collection[str], asking: Collection[str], offset: int, limit: int
) -> tuple[int, tuple[Waiting, ...]]:
    """The cases in one of *statuses* that have an answer and no publication (not even a withdrawn one),
    newest change first, leaving out those whose channel is in *asking* and whose resident did not allow
    publishing; their count and the page from *offset*."""
    # An answered case has its answer; only a closed one is asked (closed unanswered: spam, a duplicate).
    answered = or_(
        cases.c.status == "answered",
        exists().where(case_events.c.case_id == cases.c.id, case_events.c.kind == "answer"),
    )
    unpublished = cases.c.id.not_in(select(publications.c.case_id))
    allowed = or_(cases.c.publish_consent.is_(True), cases.c.channel.not_in(list(asking)))
    where = and_(cases.c.status.in_(list(statuses)), unpublished, allowed, answered)
    total = int(conn.execute(select(func.count()).select_from(cases).where(where)).scalar_one())
    rows = conn.execute(
        select(
            cases.c.code, cases.c.subject, cases.c.department, cases.c.category, cases.c.status,
            cases.c.channel, cases.c.updated_at,
        )
        .where(where)
        .order_by(cases.c.updated_at.desc(), cases.c.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()  # fmt: skip
    return total, tuple(Waiting(**r._asdict()) for r in rows)


_PUBLISHED = select(
    cases.c.code,
    publications.c.question,
    publications.c.answer,
    publications.c.published_at,
    publications.c.published_by,
    publications.c.withdrawn_at,
).join(cases, cases.c.id == publications.c.case_id)


def published(conn: Connection, offset: int, limit: int) -> tuple[int, tuple[Published, ...]]:
    """The cases in the open column now, newest publication first; their count and the page."""
    live = publications.c.withdrawn_at.is_(None)
    total = int(conn.execute(select(func.count()).select_from(publications).where(live)).scalar_one())
    rows = conn.execute(
        _PUBLISHED.where(live)
        .order_by(publications.c.published_at.desc(), publications.c.case_id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return total, tuple(Published(**r._asdict()) for r in rows)


def publication(conn: Connection, case_id: int) -> Published | None:
    """The case's publication, standing or withdrawn; None when it was never published."""
    row = conn.execute(_PUBLISHED.where(publications.c.case_id == case_id)).first()
    return None if row is None else Published(**row._asdict())


def photo_ids(conn: Connection, case_id: int) -> tuple[int, ...]:
    """The attachments ticked for the case's publication (standing or withdrawn)."""
    query = (
        select(publication_photos.c.attachment_id)
        .where(publication_photos.c.case_id == case_id)
        .order_by(publication_photos.c.attachment_id)
    )
    return tuple(int(i) for i in conn.execute(query).scalars())


def set_photos(conn: Connection, case_id: int, attachment_ids: Iterable[int]) -> None:
    """Make *attachment_ids* the publication's photos (the publication's row must exist)."""
    conn.execute(publication_photos.delete().where(publication_photos.c.case_id == case_id))
    rows = [{"case_id": case_id, "attachment_id": i} for i in sorted(set(attachment_ids))]
    if rows:
        conn.execute(publication_photos.insert(), rows)


def stored_attachments(conn: Connection, case_id: int) -> tuple[Stored, ...]:
    """Every attachment of the case with its bytes, in the order they came."""
    rows = conn.execute(
        select(attachments.c.id, attachments.c.filename, attachments.c.content_type, attachments.c.content)
        .where(attachments.c.case_id == case_id)
        .order_by(attachments.c.id)
    ).all()
    return tuple(Stored(**r._asdict()) for r in rows)


def stored_attachment(conn: Connection, code: str, attachment_id: int) -> Stored | None:
    """The attachment *attachment_id* when it belongs to the case *code*."""
    row = conn.execute(
        select(attachments.c.id, attachments.c.filename, attachments.c.content_type, attachments.c.content)
        .join(cases, cases.c.id == attachments.c.case_id)
        .where(cases.c.code == code, attachments.c.id == attachment_id)
    ).first()
    return None if row is None else Stored(**row._asdict())


def published_photo(conn: Connection, code: str, attachment_id: int) -> Stored | None:
    """The attachment when the case *code* stands published with it ticked; else None (unknown case,
    unpublished, withdrawn, another case's attachment or one not ticked look alike)."""
    row = conn.execute(
        select(attachments.c.id, attachments.c.filename, attachments.c.content_type, attachments.c.content)
        .select_from(
            cases.join(publications, publications.c.case_id == cases.c.id)
            .join(publication_photos, publication_photos.c.case_id == cases.c.id)
            .join(
                attachments,
                and_(
                    attachments.c.id == publication_photos.c.attachment_id,
                    attachments.c.case_id == cases.c.id,
                ),
            )
        )
        .where(
            cases.c.code == code,
            publications.c.withdrawn_at.is_(None),
            publication_photos.c.attachment_id == attachment_id,
        )
    ).first()
    return None if row is None else Stored(**row._asdict())


def withdraw(conn: Connection, case_id: int, now: datetime) -> bool:
    """Take the case's standing publication out of the column; whether there was one."""
    done = conn.execute(
        update(publications)
        .where(publications.c.case_id == case_id, publications.c.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    return done.rowcount == 1


def user_names(conn: Connection, emails: Iterable[str]) -> Mapping[str, str]:
    """The names of the staff accounts among *emails* (lower-case), by address."""
    wanted = sorted({e.lower() for e in emails if "@" in e})
    if not wanted:
        return {}
    rows = conn.execute(select(users.c.email, users.c.name).where(users.c.email.in_(wanted)))
    return {r.email: r.name for r in rows}
