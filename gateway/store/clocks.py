"""What the deadline planner remembers per case, and the case lookups the deadline worker needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.tables import case_clocks, cases, outbox


@dataclass(frozen=True, slots=True)
class CaseClock:
    status_seen: str
    due_seen: datetime | None
    waiting_since: datetime | None


def lock_case(conn: Connection, case_id: int) -> bool:
    """Lock the case row for this transaction (PostgreSQL; SQLite writers are serialised anyway).

    Everything that plans or fires a case's deadlines locks the case first, then its tasks: one order,
    so two nodes working on one case wait for each other instead of deadlocking.
    """
    found = conn.execute(select(cases.c.id).where(cases.c.id == case_id).with_for_update()).first()
    return found is not None


def get(conn: Connection, case_id: int) -> CaseClock | None:
    row = conn.execute(
        select(case_clocks.c.status_seen, case_clocks.c.due_seen, case_clocks.c.waiting_since).where(
            case_clocks.c.case_id == case_id
        )
    ).first()
    return None if row is None else CaseClock(**row._asdict())


def put(conn: Connection, case_id: int, clock: CaseClock, now: datetime) -> None:
    values = {
        "case_id": case_id,
        "status_seen": clock.status_seen,
        "due_seen": clock.due_seen,
        "waiting_since": clock.waiting_since,
        "planned_at": now,
    }
    changed = {k: v for k, v in values.items() if k != "case_id"}
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(case_clocks).values(**values)
        conn.execute(pg.on_conflict_do_update(index_elements=["case_id"], set_=changed))
    else:
        lite = sqlite.insert(case_clocks).values(**values)
        conn.execute(lite.on_conflict_do_update(index_elements=["case_id"], set_=changed))


_PLANNED = select(case_clocks.c.case_id).where(case_clocks.c.case_id.in_(bindparam("ids", expanding=True)))
_INSERT_CLOCK = insert(case_clocks)


def planned(conn: Connection, case_ids: list[int]) -> set[int]:
    """Which of *case_ids* have been planned before (have a clock row)."""
    return {int(r) for r in conn.execute(_PLANNED, {"ids": case_ids}).scalars()} if case_ids else set()


def put_new(conn: Connection, items: list[tuple[int, CaseClock]], now: datetime) -> None:
    """Insert the clocks of cases never planned before (their rows are locked: no one else inserts)."""
    rows = [
        {
            "case_id": case_id,
            "status_seen": c.status_seen,
            "due_seen": c.due_seen,
            "waiting_since": c.waiting_since,
            "planned_at": now,
        }
        for case_id, c in items
    ]
    if rows:
        conn.execute(_INSERT_CLOCK, rows)


def set_due(conn: Connection, case_id: int, due: datetime | None, first_due: datetime | None) -> None:
    conn.execute(
        update(cases).where(cases.c.id == case_id).values(due_at=due, first_response_due_at=first_due)
    )


def out_of_step(conn: Connection, after_id: int, limit: int) -> tuple[list[int], int | None]:
    """Among the *limit* cases after *after_id* (by id), those whose status or due time differs from what
    their tasks were planned for, or that were never planned; and the last id looked at (None at the end).

    A bounded keyset walk: each round costs *limit* primary-key lookups, whatever the size of the table.
    """
    window = select(cases.c.id).where(cases.c.id > after_id).order_by(cases.c.id).limit(limit).subquery()
    last = conn.execute(select(func.max(window.c.id))).scalar_one_or_none()
    if last is None:
        return [], None
    rows = conn.execute(
        select(cases.c.id)
        .join(case_clocks, case_clocks.c.case_id == cases.c.id, isouter=True)
        .where(cases.c.id > after_id, cases.c.id <= last)
        .where(
            case_clocks.c.case_id.is_(None)
            | (case_clocks.c.status_seen != cases.c.status)
            | case_clocks.c.due_seen.is_distinct_from(cases.c.due_at)
        )
        .order_by(cases.c.id)
    ).scalars()
    return [int(r) for r in rows], int(last)


def latest_forward(conn: Connection, case_id: int) -> tuple[str, str | None] | None:
    """(recipient, Message-ID) of the case's latest hand-over mail: whom a reminder goes to, threaded."""
    row = conn.execute(
        select(outbox.c.recipient, outbox.c.message_id)
        .where(outbox.c.case_id == case_id, outbox.c.kind == "forward")
        .order_by(outbox.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.recipient, row.message_id)
