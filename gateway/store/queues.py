"""The staff console's read side (issue 18): queues of cases with their counts, sorted and paged, the
search by tracking code, resident address or words, and the parked receipts. A handler sees only its
departments' cases: every query takes the departments it may see (None: all)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, or_, select, true

from gateway.model import CaseStatus
from gateway.store.tables import cases, receipts

PAGE_SIZE = 50
QUEUES = ("new", "open", "due-soon", "overdue", "waiting", "answered", "closed")
SORTS = {
    "due": (cases.c.due_at, cases.c.id),
    "created": (cases.c.created_at, cases.c.id),
    "updated": (cases.c.updated_at, cases.c.id),
}
OPEN = (str(CaseStatus.NEW), str(CaseStatus.ROUTED), str(CaseStatus.WAITING))
DUE_SOON = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One case in a queue: what a list shows, nothing more (the case page reads the rest)."""

    code: str
    status: str
    channel: str
    department: str | None
    category: str | None
    subject: str
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class Page:
    lines: tuple[CaseLine, ...]
    total: int
    page: int
    pages: int


def queue_filter(queue: str, now: datetime, department: str | None = None) -> ColumnElement[bool]:
    """The cases of *queue* at *now* (and of *department* when given)."""
    status = cases.c.status
    found: ColumnElement[bool]
    if queue == "new":
        found = status == str(CaseStatus.NEW)
    elif queue == "open":
        found = status.in_(OPEN)
    elif queue == "due-soon":
        found = and_(status == str(CaseStatus.ROUTED), cases.c.due_at >= now, cases.c.due_at < now + DUE_SOON)
    elif queue == "overdue":
        found = and_(status.in_((str(CaseStatus.NEW), str(CaseStatus.ROUTED))), cases.c.due_at < now)
    elif queue in ("waiting", "answered", "closed"):
        found = status == queue
    else:
        raise ValueError(f"unknown queue {queue!r}; known: {', '.join(QUEUES)}")
    return and_(found, cases.c.department == department) if department else found


def _scope(departments: Sequence[str] | None) -> ColumnElement[bool]:
    if departments is None:
        return true()
    return cases.c.department.in_(list(departments)) if departments else false()


@dataclass(frozen=True, slots=True)
class Overview:
    """What the console shows beside every queue: how many cases each queue holds (answered and closed
    as -1: not counted, a count over every closed case would read the whole table) and the open cases
    per department."""

    counts: dict[str, int]
    by_department: dict[str, int]

    def total(self, queue: str, department: str | None) -> int | None:
        """How many cases *queue* (of *department*) holds, when the overview knows; None otherwise."""
        if department is None:
            found = self.counts.get(queue, -1)
            return found if found >= 0 else None
        return self.by_department.get(department, 0) if queue == "open" else None


def overview(conn: Connection, now: datetime, departments: Sequence[str] | None = None) -> Overview:
    """The queue counts and the open cases per department, from one pass over the open cases' index
    entries (status, department, due_at: migration 0013)."""
    status, due = cases.c.status, cases.c.due_at
    overdue = case((and_(status.in_((str(CaseStatus.NEW), str(CaseStatus.ROUTED))), due < now), 1), else_=0)
    soon = case((and_(status == str(CaseStatus.ROUTED), due >= now, due < now + DUE_SOON), 1), else_=0)
    rows = conn.execute(
        select(cases.c.department, status, func.sum(overdue), func.sum(soon), func.count())
        .where(_scope(departments), status.in_(OPEN))
        .group_by(status, cases.c.department)  # the index's order: no sorting
    ).all()
    counts = dict.fromkeys(("new", "open", "due-soon", "overdue", "waiting"), 0)
    per_department: dict[str, int] = {}
    for department, state, late, near, n in rows:
        counts["open"] += n
        counts["new"] += n if state == CaseStatus.NEW else 0
        counts["waiting"] += n if state == CaseStatus.WAITING else 0
        counts["overdue"] += int(late)
        counts["due-soon"] += int(near)
        key = str(department or "-")
        per_department[key] = per_department.get(key, 0) + n
    counts |= {"answered": -1, "closed": -1}
    return Overview(counts, per_department)


def queue_page(
    conn: Connection,
    queue: str,
    now: datetime,
    *,
    departments: Sequence[str] | None = None,
    department: str | None = None,
    sort: str = "due",
    descending: bool = False,
    page: int = 1,
    search: str = "",
    total: int | None = None,
) -> Page:
    """One page of *queue* (or of every case matching *search*), sorted by *sort*; *total* is how many
    the queue holds when the caller knows (the overview's count), else it is counted."""
    where = [_scope(departments)]
    if search:
        where.append(_search(search))
    else:
        where.append(queue_filter(queue, now, department))
    order = SORTS.get(sort, SORTS["due"])
    ordering: list[Any] = [c.desc() if descending else c.asc() for c in order]
    if sort == "due":  # cases without a due time last, whichever way
        ordering[0] = ordering[0].nulls_last()
    if total is None:
        total = int(conn.execute(select(func.count()).select_from(cases).where(*where)).scalar_one())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    columns = select(
        cases.c.code,
        cases.c.status,
        cases.c.channel,
        cases.c.department,
        cases.c.category,
        cases.c.subject,
        cases.c.created_at,
        cases.c.updated_at,
        cases.c.due_at,
    )
    offset = (page - 1) * PAGE_SIZE
    if sort == "due" and not search:
        # The page's ids from the index (status, department, due_at, id) alone, then only their rows:
        # sorting the open cases' rows read every block they lie in (migration 0013).
        ids = select(cases.c.id).where(*where).order_by(*ordering).limit(PAGE_SIZE).offset(offset)
        stmt = columns.where(cases.c.id.in_(ids.scalar_subquery())).order_by(*ordering)
    else:
        stmt = columns.where(*where).order_by(*ordering).limit(PAGE_SIZE).offset(offset)
    rows = conn.execute(stmt).all()
    return Page(tuple(CaseLine(**r._asdict()) for r in rows), total, page, pages)


def _search(text: str) -> ColumnElement[bool]:
    """A tracking code, a resident's address, or words that all appear in the subject or the text."""
    text = text.strip()
    if "@" in text:
        return cases.c.resident_email == text.lower()
    upper = text.upper()
    if upper.count("-") == 2 and len(upper) <= 20:
        return cases.c.code == upper
    words = [w for w in text.split() if w][:5]
    matches: list[Any] = [
        or_(
            cases.c.subject.ilike(f"%{_like(w)}%", escape="\\"),
            cases.c.text.ilike(f"%{_like(w)}%", escape="\\"),
        )
        for w in words
    ]
    return and_(*matches) if matches else false()


def _like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True, slots=True)
class ParkedReceipt:
    id: int
    channel: str
    received_at: datetime
    error: str


def parked(conn: Connection, limit: int = 200) -> list[ParkedReceipt]:
    """Receipts set aside because they could not be processed (`gateway reprocess` replays them)."""
    rows = conn.execute(
        select(receipts.c.id, receipts.c.channel, receipts.c.received_at, receipts.c.error)
        .where(receipts.c.state == "parked")
        .order_by(receipts.c.id.desc())
        .limit(limit)
    ).all()
    return [
        ParkedReceipt(
            r.id, r.channel, r.received_at, (r.error or "").strip().splitlines()[-1:][0] if r.error else ""
        )
        for r in rows
    ]
