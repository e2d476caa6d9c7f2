"""What anyone may read of a case by its tracking code (the tracking page, Open311's `requests/{id}`):
its status, the public timeline, the due date and the published texts. Nothing personal leaves here: no
name, address, phone, email, the resident's own words or an official's name (issue 17)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, select

from gateway.model import CaseStatus, EventKind
from gateway.store.tables import case_events, cases, outbox, publications, receipts


@dataclass(frozen=True, slots=True)
class Milestone:
    """One step of a case's public timeline."""

    kind: str  # received, routed, rerouted, interim, answered, closed
    at: datetime
    department: str | None = None  # the office's key, for routed and rerouted (its public name is config's)


@dataclass(frozen=True, slots=True)
class Publication:
    question: str
    answer: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class PublicCase:
    """A case as the public sees it. `status` None: received, and not yet registered as a case (intake
    has not reached its receipt) — the submitter already holds its code."""

    code: str
    status: CaseStatus | None
    channel: str
    received_at: datetime
    updated_at: datetime
    department: str | None
    category: str | None
    due_at: datetime | None
    timeline: tuple[Milestone, ...]
    publication: Publication | None

    @property
    def is_open(self) -> bool:
        return self.status not in (CaseStatus.ANSWERED, CaseStatus.CLOSED)


_CASE = (
    select(
        cases.c.id,
        cases.c.code,
        cases.c.status,
        cases.c.channel,
        cases.c.created_at,
        cases.c.updated_at,
        cases.c.department,
        cases.c.category,
        cases.c.due_at,
        publications.c.question,  # the publication in the same statement: one round trip less a page
        publications.c.answer,
        publications.c.published_at,
    )
    .select_from(
        cases.outerjoin(
            publications, and_(publications.c.case_id == cases.c.id, publications.c.withdrawn_at.is_(None))
        )
    )
    .where(cases.c.code == bindparam("code"))
)
_EVENTS = (
    select(case_events.c.kind, case_events.c.at, case_events.c.data)
    .where(
        case_events.c.case_id == bindparam("case_id"),
        case_events.c.kind.in_([str(EventKind.ROUTED), str(EventKind.REROUTED), str(EventKind.ANSWER)]),
    )
    .order_by(case_events.c.id)
)
_INTERIM = (
    select(outbox.c.sent_at)
    .where(outbox.c.case_id == bindparam("case_id"), outbox.c.kind == "interim", outbox.c.state == "sent")
    .order_by(outbox.c.id)
)
_RECEIPT = select(receipts.c.channel, receipts.c.received_at, receipts.c.state).where(
    receipts.c.tracking_code == bindparam("code")
)


def find_public_case(conn: Connection, code: str) -> PublicCase | None:
    """The public view of the case *code* names (upper-case), or of its receipt while intake has not
    made the case yet; None when no such code was ever given out."""
    row = conn.execute(_CASE, {"code": code}).first()
    if row is None:
        return _received_only(conn, code)
    timeline = [Milestone("received", row.created_at)]
    for event in conn.execute(_EVENTS, {"case_id": row.id}):
        data = event.data or {}
        if event.kind == EventKind.ANSWER:
            timeline.append(Milestone("answered", event.at))
        else:
            kind = "routed" if event.kind == EventKind.ROUTED else "rerouted"
            department = data.get("department") if kind == "routed" else data.get("to")
            timeline.append(Milestone(kind, event.at, department if isinstance(department, str) else None))
    timeline += [
        Milestone("interim", r.sent_at) for r in conn.execute(_INTERIM, {"case_id": row.id}) if r.sent_at
    ]
    status = CaseStatus(row.status)
    if status is CaseStatus.CLOSED:
        timeline.append(Milestone("closed", row.updated_at))
    timeline.sort(key=lambda m: m.at)
    return PublicCase(
        code=row.code,
        status=status,
        channel=row.channel,
        received_at=row.created_at,
        updated_at=row.updated_at,
        department=row.department,
        category=row.category,
        due_at=row.due_at if status not in (CaseStatus.ANSWERED, CaseStatus.CLOSED) else None,
        timeline=tuple(timeline),
        publication=Publication(row.question, row.answer, row.published_at) if row.published_at else None,
    )


def _received_only(conn: Connection, code: str) -> PublicCase | None:
    row = conn.execute(_RECEIPT, {"code": code}).first()
    if row is None:
        return None
    return PublicCase(
        code=code,
        status=None,
        channel=row.channel,
        received_at=row.received_at,
        updated_at=row.received_at,
        department=None,
        category=None,
        due_at=None,
        timeline=(Milestone("received", row.received_at),),
        publication=None,
    )


def publish(
    conn: Connection, case_id: int, question: str, answer: str, now: datetime, published_by: str
) -> None:
    """Make a case public with these texts (moderation, issue 18; tests mark cases public with it)."""
    conn.execute(publications.delete().where(publications.c.case_id == case_id))
    conn.execute(
        publications.insert().values(
            case_id=case_id, question=question, answer=answer, published_at=now, published_by=published_by
        )
    )
