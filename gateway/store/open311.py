"""What Open311 GeoReport v2 reads (issue 17): the listing of public requests with the specification's
filters, the timelines of a page of them at once, and the api_key look-up of Open311 clients.

Only public cases are listed: a case with a `publications` row that is not withdrawn. Nothing personal is
read here: no name, email, phone or the resident's own text; the description and the status notes are
the published question and answer. Not the place as it was typed either: moderation does not edit it,
and a caller's home address or number said to an agent lands there (docs/decisions/0029).
`requests/{id}` reads one case by its code through `store.public`, whether published or not; this
module adds what a published case shows besides (its point, the coordinates).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from gateway.model import CaseStatus, EventKind
from gateway.store.clients import open311_client
from gateway.store.plans import unindexed
from gateway.store.public import Milestone
from gateway.store.tables import case_events, cases, outbox, publications

__all__ = [
    "CLOSED_STATUSES",
    "MAX_PAGE_SIZE",
    "OPEN_STATUSES",
    "PublicRequest",
    "RequestQuery",
    "open311_client",
    "public_request",
    "public_requests",
    "timelines",
]

OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.ROUTED, CaseStatus.WAITING)
CLOSED_STATUSES = (CaseStatus.ANSWERED, CaseStatus.CLOSED)
MAX_PAGE_SIZE = 1000  # the specification's default limit, and ours at most


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """A checked `GET requests` query. With `codes`, the other filters are not applied (the
    specification: service_request_id overrides all other arguments); the web layer checks the rest
    (the 90-day span, the page bounds) before it gets here."""

    codes: tuple[str, ...] | None = None  # tracking codes in their printed form; None: not asked
    categories: tuple[str, ...] | None = None  # category keys; None: every category, and none
    created_from: datetime | None = None  # created_at >= this
    created_to: datetime | None = None  # created_at <= this
    status: tuple[CaseStatus, ...] | None = None  # None: every status
    updated_after: datetime | None = None  # updated_at > this
    updated_before: datetime | None = None  # updated_at < this
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class PublicRequest:
    """A published case as Open311 lists it."""

    id: int
    code: str
    status: CaseStatus
    language: str
    created_at: datetime
    updated_at: datetime
    department: str | None
    category: str | None
    due_at: datetime | None  # only while the case is open
    latitude: float | None
    longitude: float | None
    question: str  # the published text of the resident's question
    answer: str  # the published answer ("" until there is one)

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES


_PUBLIC = (
    select(
        cases.c.id,
        cases.c.code,
        cases.c.status,
        cases.c.language,
        cases.c.created_at,
        cases.c.updated_at,
        cases.c.department,
        cases.c.category,
        cases.c.due_at,
        cases.c.latitude,
        cases.c.longitude,
        publications.c.question,
        publications.c.answer,
    )
    .select_from(cases.join(publications, publications.c.case_id == cases.c.id))
    .where(unindexed(publications.c.withdrawn_at).is_(None))  # the cases drive the join (store.plans)
)
_NEWEST_FIRST = (cases.c.created_at.desc(), cases.c.id.desc())


def public_requests(conn: Connection, query: RequestQuery) -> list[PublicRequest]:
    """The public cases *query* selects, newest first (by created_at, then id)."""
    stmt = _filtered(query).order_by(*_NEWEST_FIRST)
    if query.codes is None:
        stmt = stmt.limit(query.page_size).offset((query.page - 1) * query.page_size)
    return [_request(row) for row in conn.execute(stmt)]


def public_request(conn: Connection, code: str) -> PublicRequest | None:
    """The case *code* (printed form) when it is public; None when it is not, or there is none."""
    row = conn.execute(_PUBLIC.where(cases.c.code == code)).first()
    return _request(row) if row is not None else None


def _filtered(query: RequestQuery) -> Select[Any]:
    stmt = _PUBLIC
    if query.codes is not None:
        return stmt.where(cases.c.code.in_(query.codes))
    if query.categories is not None:
        stmt = stmt.where(cases.c.category.in_(query.categories))
    if query.created_from is not None:
        stmt = stmt.where(cases.c.created_at >= query.created_from)
    if query.created_to is not None:
        stmt = stmt.where(cases.c.created_at <= query.created_to)
    if query.status is not None:
        stmt = stmt.where(cases.c.status.in_([str(s) for s in query.status]))
    if query.updated_after is not None:
        stmt = stmt.where(cases.c.updated_at > query.updated_after)
    if query.updated_before is not None:
        stmt = stmt.where(cases.c.updated_at < query.updated_before)
    return stmt


def _request(row: Any) -> PublicRequest:
    status = CaseStatus(row.status)
    return PublicRequest(
        id=int(row.id),
        code=row.code,
        status=status,
        language=row.language or "fi",
        created_at=row.created_at,
        updated_at=row.updated_at,
        department=row.department,
        category=row.category,
        due_at=row.due_at if status not in CLOSED_STATUSES else None,
        latitude=row.latitude,
        longitude=row.longitude,
        question=row.question or "",
        answer=row.answer or "",
    )


# -- timelines of a page at once --------------------------------------------------------------------
# The same public timeline as `store.public.find_public_case` gives one case (the tests compare them),
# read for a whole page in two queries instead of three per case.

_EVENT_KINDS = [str(EventKind.ROUTED), str(EventKind.REROUTED), str(EventKind.ANSWER)]


def timelines(conn: Connection, requests: Sequence[PublicRequest]) -> dict[int, tuple[Milestone, ...]]:
    """The public timeline of each of *requests*, by case id."""
    found: defaultdict[int, list[Milestone]] = defaultdict(list)
    for request in requests:
        found[request.id].append(Milestone("received", request.created_at))
    for ids in _chunks([r.id for r in requests], 500):
        events = (
            select(case_events.c.case_id, case_events.c.kind, case_events.c.at, case_events.c.data)
            .where(case_events.c.case_id.in_(ids), case_events.c.kind.in_(_EVENT_KINDS))
            .order_by(case_events.c.case_id, case_events.c.id)
        )
        for event in conn.execute(events):
            found[int(event.case_id)].append(_milestone(event.kind, event.at, event.data))
        interims = (
            select(outbox.c.case_id, outbox.c.sent_at)
            .where(outbox.c.case_id.in_(ids), outbox.c.kind == "interim", outbox.c.state == "sent")
            .order_by(outbox.c.case_id, outbox.c.id)
        )
        for row in conn.execute(interims):
            if row.sent_at is not None:
                found[int(row.case_id)].append(Milestone("interim", row.sent_at))
    for request in requests:
        if request.status is CaseStatus.CLOSED:
            found[request.id].append(Milestone("closed", request.updated_at))
    return {case_id: tuple(sorted(steps, key=lambda m: m.at)) for case_id, steps in found.items()}


def _milestone(kind: str, at: datetime, data: Any) -> Milestone:
    if kind == EventKind.ANSWER:
        return Milestone("answered", at)
    data = data if isinstance(data, dict) else {}
    name = "routed" if kind == EventKind.ROUTED else "rerouted"
    department = data.get("department") if name == "routed" else data.get("to")
    return Milestone(name, at, department if isinstance(department, str) else None)


def _chunks(ids: Iterable[int], size: int) -> Iterable[list[int]]:
    chunk: list[int] = []
    for case_id in ids:
        chunk.append(case_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
