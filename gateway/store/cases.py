"""Cases, their events and attachments, and the Message-IDs that thread mail to them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, union_all, update

from gateway.model import Attachment, Case, CaseStatus, Channel, EventKind, NewCase
from gateway.store.codec import decision_columns, decision_from_json
from gateway.store.tables import attachments, case_events, cases, message_ids, outbox


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    kind: str
    at: datetime
    actor: str
    text: str
    data: dict[str, Any] | None


def _case(row: Any) -> Case:
    return _case_from(row._asdict())


def _case_from(values: dict[str, Any]) -> Case:
    values = {name: values[name] for name in Case.__dataclass_fields__}
    values["status"] = CaseStatus(values["status"])
    values["channel"] = Channel(values["channel"])
    values["decision"] = decision_from_json(values["decision"])
    return Case(**values)


# Statements are built once with bind parameters: building `insert().values(**row)` anew for every row
# made SQLAlchemy's coercion and cache-key work the largest cost of intake (bench/RESULTS.md).
_INSERT_CASE = insert(cases).returning(cases.c.id)
_INSERT_EVENT = insert(case_events).returning(case_events.c.id)
_CASE_BY_CODE = select(*cases.c).where(cases.c.code == bindparam("code"))
_CASE_BY_ID = select(*cases.c).where(cases.c.id == bindparam("case_id"))
_CASES_FOR_UPDATE = (
    select(*cases.c)
    .where(cases.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(cases.c.id)
    .with_for_update()
)
_INSERT_MESSAGE_ID = insert(message_ids)
_SEEN = select(message_ids.c.case_id).where(
    message_ids.c.message_id == bindparam("message_id"), message_ids.c.direction == "in"
)
# Mail of ours is found by the outbox's own (indexed) Message-ID column; message_ids holds what came in,
# and what went out before the outbox had that index (docs/decisions/0014-message-ids-of-ours.md).
_CASES_OF_IDS = union_all(
    *(
        select(t.c.message_id, t.c.case_id).where(
            t.c.message_id.in_(bindparam("ids", expanding=True)), t.c.case_id.is_not(None)
        )
        for t in (message_ids, outbox)
    )
)


_CASE_DEFAULTS: dict[str, Any] = {
    "message_id": None,
    "department": None,
    "rule": None,
    "priority": None,
    "decision": None,
    "due_at": None,
    "first_response_due_at": None,
    "category": None,
    "latitude": None,
    "longitude": None,
    "address": "",
    "resident_phone": "",
    "publish_consent": False,
}


def insert_case(conn: Connection, **columns: Any) -> int:
    """Insert a case row from its columns (the ones left out are NULL); `create_case` is the way in for
    a new case, this for the row as is (migrations, tests of a shape intake would not make)."""
    return int(conn.execute(_INSERT_CASE, {**_CASE_DEFAULTS, **columns}).scalar_one())


def case_row(new: NewCase) -> dict[str, Any]:
    """The columns of *new*'s row."""
    return {
        **_CASE_DEFAULTS,
        "code": new.code,
        "status": str(new.opening_status),
        "channel": str(new.channel),
        "created_at": new.created_at,
        "updated_at": new.created_at,
        "resident_email": new.resident_email,
        "resident_name": new.resident_name,
        "language": new.language,
        "subject": new.subject,
        "text": new.text,
        "message_id": new.message_id,
        **decision_columns(new.decision),
        "category": new.category,
        "latitude": new.location[0] if new.location else None,
        "longitude": new.location[1] if new.location else None,
        "address": new.address,
        "resident_phone": new.resident_phone,
        "publish_consent": new.publish_consent,
    }


def create_case(conn: Connection, new: NewCase) -> Case:
    """Insert a case and return it as stored, without reading it back."""
    row = case_row(new)
    case_id = insert_case(conn, **row)
    return case_to_be(new, case_id)


def case_to_be(new: NewCase, case_id: int = 0) -> Case:
    """The case `create_case(new)` stores, before it has an id (0): for work that needs its values but
    no database, done before the transaction (decision 0016)."""
    d = new.decision
    return Case(
        id=case_id,
        code=new.code,
        status=new.opening_status,
        channel=new.channel,
        created_at=new.created_at,
        updated_at=new.created_at,
        resident_email=new.resident_email,
        resident_name=new.resident_name,
        language=new.language,
        subject=new.subject,
        text=new.text,
        message_id=new.message_id,
        department=d.department if d else None,
        rule=d.rule if d else None,
        priority=d.priority if d else None,
        decision=d,
        due_at=d.due if d else None,
        first_response_due_at=d.first_response_due if d else None,
        category=new.category,
        latitude=new.location[0] if new.location else None,
        longitude=new.location[1] if new.location else None,
        address=new.address,
        resident_phone=new.resident_phone,
        publish_consent=new.publish_consent,
    )


@dataclass(frozen=True, slots=True)
class NewEvent:
    kind: EventKind
    actor: str = ""
    text: str = ""
    receipt_id: int | None = None
    data: dict[str, Any] | None = None

    def row(self, case_id: int, at: datetime) -> dict[str, Any]:
        return {
            "case_id": case_id,
            "kind": str(self.kind),
            "at": at,
            "actor": self.actor,
            "text": self.text,
            "receipt_id": self.receipt_id,
            "data": self.data,
        }


def insert_event(
    conn: Connection,
    case_id: int,
    kind: EventKind,
    at: datetime,
    *,
    actor: str = "",
    text: str = "",
    receipt_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    row = NewEvent(kind, actor, text, receipt_id, data).row(case_id, at)
    return int(conn.execute(_INSERT_EVENT, row).scalar_one())


# Returning each row's kind, not `sort_by_parameter_order`: for that SQLAlchemy inserts SQLite's rows one
# statement each, and one statement for all is the point.
_INSERT_EVENTS = insert(case_events).returning(case_events.c.id, case_events.c.kind)


def insert_events(
    conn: Connection, case_id: int, at: datetime, events: Sequence[NewEvent]
) -> dict[EventKind, int]:
    """Events of one case at one moment, each of another kind, in one statement; their ids by kind."""
    if len({e.kind for e in events}) != len(events):  # the result is keyed by kind
        raise ValueError("insert_events takes one event of each kind")
    rows = [e.row(case_id, at) for e in events]
    return {EventKind(row.kind): int(row.id) for row in conn.execute(_INSERT_EVENTS, rows)}


def insert_attachments(conn: Connection, case_id: int, event_id: int, items: Iterable[Attachment]) -> None:
    rows = [
        {
            "case_id": case_id,
            "event_id": event_id,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "content": a.content,
        }
        for a in items
    ]
    if rows:
        conn.execute(insert(attachments), rows)


def load_attachments(conn: Connection, case_id: int) -> tuple[Attachment, ...]:
    """The case's attachments with their bytes, for a hand-over to a new department."""
    rows = conn.execute(
        select(attachments.c.filename, attachments.c.content_type, attachments.c.size, attachments.c.content)
        .where(attachments.c.case_id == case_id)
        .order_by(attachments.c.id)
    ).all()
    return tuple(Attachment(r.filename, r.content_type, r.size, r.content) for r in rows)


def update_event_data(conn: Connection, event_id: int, data: dict[str, Any]) -> None:
    conn.execute(update(case_events).where(case_events.c.id == event_id).values(data=data))


def update_case(conn: Connection, case_id: int, **values: Any) -> None:
    conn.execute(update(cases).where(cases.c.id == case_id).values(**values))


def get_case(conn: Connection, *, code: str | None = None, case_id: int | None = None) -> Case | None:
    if code is not None:
        row = conn.execute(_CASE_BY_CODE, {"code": code}).first()
    else:
        row = conn.execute(_CASE_BY_ID, {"case_id": case_id}).first()
    return None if row is None else _case(row)


def lock_cases(conn: Connection, case_ids: Iterable[int]) -> list[Case]:
    """The cases of *case_ids* as stored, locked for this transaction in id order (one lock order)."""
    ids = sorted(set(case_ids))
    return [_case(r) for r in conn.execute(_CASES_FOR_UPDATE, {"ids": ids})] if ids else []


def list_events(conn: Connection, case_id: int) -> list[EventRow]:
    rows = conn.execute(
        select(
            case_events.c.id,
            case_events.c.kind,
            case_events.c.at,
            case_events.c.actor,
            case_events.c.text,
            case_events.c.data,
        )
        .where(case_events.c.case_id == case_id)
        .order_by(case_events.c.id)
    ).all()
    return [EventRow(**r._asdict()) for r in rows]


def list_attachments(conn: Connection, case_id: int) -> list[tuple[str, str, int]]:
    rows = conn.execute(
        select(attachments.c.filename, attachments.c.content_type, attachments.c.size)
        .where(attachments.c.case_id == case_id)
        .order_by(attachments.c.id)
    ).all()
    return [(r.filename, r.content_type, r.size) for r in rows]


def remember_message_id(
    conn: Connection,
    message_id: str,
    case_id: int | None,
    direction: str,
    receipt_id: int | None = None,
) -> None:
    row = {"message_id": message_id, "case_id": case_id, "direction": direction, "receipt_id": receipt_id}
    conn.execute(_INSERT_MESSAGE_ID, row)


def seen_message_id(conn: Connection, message_id: str) -> tuple[bool, int | None]:
    """Whether *message_id* came in before, and the case it belongs to."""
    row = conn.execute(_SEEN, {"message_id": message_id}).first()
    return (False, None) if row is None else (True, row.case_id)


def case_for_message_ids(conn: Connection, ids: Iterable[str]) -> int | None:
    """The case that one of *ids* (In-Reply-To, References) belongs to: the newest reference wins."""
    wanted = [i for i in ids if i]
    if not wanted:
        return None
    rows = conn.execute(_CASES_OF_IDS, {"ids": wanted}).all()
    by_id = {r.message_id: r.case_id for r in rows}
    for message_id in reversed(wanted):
        if message_id in by_id:
            return int(by_id[message_id])
    return None
