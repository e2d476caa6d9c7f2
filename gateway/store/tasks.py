"""Scheduled tasks: planned idempotently by dedupe key, claimed with a lease on the database's clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Insert, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.db import Database
from gateway.store.leases import lease_rows
from gateway.store.tables import scheduled_tasks as tasks


@dataclass(frozen=True, slots=True)
class NewTask:
    key: str  # e.g. reminder:HEL-XXXX-XXXX:<due iso>:1working_days, alarm:HEL-...:<due iso>:3
    kind: str
    case_id: int | None
    due_at: datetime  # app clock
    planned_for: datetime | None = None  # the case's due time the task belongs to


@dataclass(frozen=True, slots=True)
class ClaimedTask:
    id: int
    key: str
    kind: str
    case_id: int | None
    due_at: datetime
    planned_for: datetime | None
    attempts: int


def db_now(conn: Connection) -> datetime:
    """The database server's clock, aware UTC: the one clock every node agrees on for leases.

    SQLite's CURRENT_TIMESTAMP is 'YYYY-MM-DD HH:MM:SS' text, which compares wrongly with the stored
    'YYYY-MM-DD HH:MM:SS.ffffff'; reading the time first and binding it as a parameter stores and compares
    it in the one format UTCDateTime writes.
    """
    if conn.dialect.name == "sqlite":
        text = conn.exec_driver_sql("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").scalar_one()
        return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)
    value = conn.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


_INSERTS: dict[str, Insert] = {}


def _insert_ignoring_duplicates(dialect: str) -> Insert:
    """Built once per dialect with bind parameters, executed with many rows (one compile, not one a call)."""
    if dialect not in _INSERTS:
        if dialect == "postgresql":
            stmt: Insert = postgresql.insert(tasks).on_conflict_do_nothing(index_elements=["dedupe_key"])
        elif dialect == "sqlite":
            stmt = sqlite.insert(tasks).on_conflict_do_nothing(index_elements=["dedupe_key"])
        else:  # pragma: no cover - the two databases we support are above
            stmt = insert(tasks)
        _INSERTS[dialect] = stmt.returning(tasks.c.id)
    return _INSERTS[dialect]


def add(conn: Connection, items: Iterable[NewTask], now: datetime) -> int:
    """Plan *items*; a key planned before (pending, done or cancelled) is left alone. Returns how many
    were new."""
    rows: list[dict[str, object]] = [
        {
            "dedupe_key": t.key,
            "kind": t.kind,
            "case_id": t.case_id,
            "due_at": t.due_at,
            "planned_for": t.planned_for,
            "state": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for t in items
    ]
    if not rows:
        return 0
    # RETURNING, not rowcount: psycopg reports no reliable rowcount for ON CONFLICT DO NOTHING. With many
    # rows SQLAlchemy batches them into multi-row INSERTs ("insertmanyvalues") and collects what returns.
    return len(conn.execute(_insert_ignoring_duplicates(conn.dialect.name), rows).all())


def cancel_pending(conn: Connection, case_id: int, now: datetime, keep_planned_for: datetime | None) -> int:
    """Cancel the case's pending tasks except those planned for due time *keep_planned_for* (None: all)."""
    stmt = update(tasks).where(tasks.c.case_id == case_id, tasks.c.state == "pending")
    if keep_planned_for is not None:
        stmt = stmt.where(or_(tasks.c.planned_for.is_(None), tasks.c.planned_for != keep_planned_for))
    result = conn.execute(stmt.values(state="cancelled", outcome="replanned", done_at=now, lease_until=None))
    return int(result.rowcount or 0)


def claim_due(db: Database, owner: str, limit: int, now: datetime, lease: timedelta) -> list[ClaimedTask]:
    """Lease up to *limit* tasks due by *now* (app clock) whose lease, if any, ran out on the DB clock.

    The scan walks ix_scheduled_tasks_state_due_at; SKIP LOCKED lets PostgreSQL nodes claim side by side,
    and SQLite's BEGIN IMMEDIATE serialises claimers.
    """
    with db.write() as conn:
        server_now = db_now(conn)
        due = and_(
            tasks.c.state == "pending",
            tasks.c.due_at <= now,
            or_(tasks.c.lease_until.is_(None), tasks.c.lease_until < server_now),
        )
        order = (tasks.c.due_at, tasks.c.id)
        ids = lease_rows(conn, tasks, due, order, owner, limit, server_now + lease)
        if not ids:
            return []
        rows = conn.execute(
            select(
                tasks.c.id,
                tasks.c.dedupe_key.label("key"),
                tasks.c.kind,
                tasks.c.case_id,
                tasks.c.due_at,
                tasks.c.planned_for,
                tasks.c.attempts,
            )
            .where(tasks.c.id.in_(ids))
            .order_by(tasks.c.due_at, tasks.c.id)
        ).all()
    return [ClaimedTask(**r._asdict()) for r in rows]


def finish(conn: Connection, task_id: int, owner: str, outcome: str, now: datetime) -> bool:
    """Mark a task done, only if *owner* still holds it; False means another process took it over, and
    the caller must roll back what it did for the task."""
    result = conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.lease_owner == owner, tasks.c.state == "pending")
        .values(state="done", outcome=outcome, done_at=now, lease_until=None, last_error=None)
    )
    return result.rowcount == 1


def record_failure(db: Database, task_id: int, owner: str, error: str, give_up: bool) -> None:
    """A task's round failed: keep the error; it is retried when its lease runs out, or marked failed."""
    values: dict[str, object] = {"last_error": error[:2000]}
    if give_up:
        values.update(state="failed", lease_until=None)
    with db.write() as conn:
        conn.execute(
            update(tasks).where(tasks.c.id == task_id, tasks.c.lease_owner == owner).values(**values)
        )


def last_sent_due(conn: Connection, case_id: int, kind: str) -> datetime | None:
    """When the case's latest task of *kind* that sent its mail was planned for: comparing planned times,
    not queue times, a notice that fired late does not make the next one look too soon."""
    return conn.execute(
        select(func.max(tasks.c.due_at)).where(
            tasks.c.case_id == case_id, tasks.c.kind == kind, tasks.c.outcome == "sent"
        )
    ).scalar_one_or_none()


def next_due(db: Database) -> datetime | None:
    """When the earliest pending task is due (app clock): how long an idle worker may sleep."""
    with db.read() as conn:
        return conn.execute(
            select(tasks.c.due_at).where(tasks.c.state == "pending").order_by(tasks.c.due_at).limit(1)
        ).scalar_one_or_none()
