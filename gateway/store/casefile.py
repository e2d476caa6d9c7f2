"""Everything the console's case page shows of one case (issue 18): the case, its events in order (the
resident's messages and ours, routing, notes), who entered it when it came by phone or at a desk, its
attachments, the mail we sent for it, its clock and its publication. Staff only: it holds personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from gateway.model import Case, EventKind
from gateway.store.cases import EventRow, get_case, list_events
from gateway.store.tables import attachments, case_clocks, outbox, publications, users


@dataclass(frozen=True, slots=True)
class FileAttachment:
    id: int
    event_id: int | None
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class SentMail:
    kind: str  # receipt, forward, answer, interim, reminder, alarm ...
    recipient: str
    state: str  # pending, sent, parked
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Entry:
    """Who entered a phone call or a visit, and at which desk: the opened event's data (intake writes
    `entered_by` and `desk` there), with the name on the staff account of that address."""

    by: str  # the staff member's address
    name: str  # the account's name now; "" when no account has that address
    desk: str  # "" when none was given


@dataclass(frozen=True, slots=True)
class CaseFile:
    case: Case
    events: tuple[EventRow, ...]
    entry: Entry | None  # None for a case that came by mail, the form or an app
    attachments: tuple[FileAttachment, ...]
    mail: tuple[SentMail, ...]
    waiting_since: datetime | None
    published_at: datetime | None
    withdrawn_at: datetime | None


def case_file(conn: Connection, code: str) -> CaseFile | None:
    found = get_case(conn, code=code)
    if found is None:
        return None
    files = conn.execute(
        select(
            attachments.c.id,
            attachments.c.event_id,
            attachments.c.filename,
            attachments.c.content_type,
            attachments.c.size,
        )
        .where(attachments.c.case_id == found.id)
        .order_by(attachments.c.id)
    ).all()
    mail = conn.execute(
        select(outbox.c.kind, outbox.c.recipient, outbox.c.state, outbox.c.created_at, outbox.c.sent_at)
        .where(outbox.c.case_id == found.id)
        .order_by(outbox.c.id)
    ).all()
    clock = conn.execute(select(case_clocks.c.waiting_since).where(case_clocks.c.case_id == found.id)).first()
    pub = conn.execute(
        select(publications.c.published_at, publications.c.withdrawn_at).where(
            publications.c.case_id == found.id
        )
    ).first()
    events = tuple(list_events(conn, found.id))
    return CaseFile(
        case=found,
        events=events,
        entry=_entry(conn, events),
        attachments=tuple(FileAttachment(**r._asdict()) for r in files),
        mail=tuple(SentMail(**r._asdict()) for r in mail),
        waiting_since=clock.waiting_since if clock else None,
        published_at=pub.published_at if pub else None,
        withdrawn_at=pub.withdrawn_at if pub else None,
    )


def _entry(conn: Connection, events: tuple[EventRow, ...]) -> Entry | None:
    data = next((e.data for e in events if e.kind == EventKind.OPENED), None) or {}
    by, desk = data.get("entered_by"), data.get("desk")
    if not isinstance(by, str) or not by:
        return None
    name = conn.execute(select(users.c.name).where(users.c.email == by.lower())).scalar_one_or_none()
    return Entry(by=by, name=name or "", desk=desk if isinstance(desk, str) else "")


def attachment(conn: Connection, code: str, attachment_id: int) -> tuple[str, str, bytes] | None:
    """An attachment of case *code* (filename, type, bytes): None when the case has no such one, so that
    an id of another case's attachment shows nothing."""
    found = get_case(conn, code=code)
    if found is None:
        return None
    row = conn.execute(
        select(attachments.c.filename, attachments.c.content_type, attachments.c.content).where(
            attachments.c.id == attachment_id, attachments.c.case_id == found.id
        )
    ).first()
    return None if row is None else (row.filename, row.content_type, row.content)
