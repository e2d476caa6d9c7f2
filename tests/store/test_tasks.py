"""Scheduled tasks on SQLite and PostgreSQL: idempotent planning, leases on the database clock, claims."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from gateway.store import tasks
from gateway.store.db import Database
from gateway.store.tables import cases, scheduled_tasks
from gateway.store.tasks import NewTask

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def _case(db: Database, code: str = "HEL-0000-0001") -> int:
    with db.write() as conn:
        return int(
            conn.execute(
                cases.insert()
                .values(code=code, status="routed", channel="smtp", created_at=NOW, updated_at=NOW)
                .returning(cases.c.id)
            ).scalar_one()
        )


def _plan(db: Database, case_id: int, n: int, due: datetime = NOW) -> int:
    with db.write() as conn:
        return tasks.add(conn, [NewTask(f"alarm:x:{i}", "alarm", case_id, due, due) for i in range(n)], NOW)


def test_planning_a_key_twice_adds_it_once(db: Database) -> None:
    case_id = _case(db)
    assert _plan(db, case_id, 3) == 3
    assert _plan(db, case_id, 5) == 2
    with db.read() as conn:
        assert len(conn.execute(select(scheduled_tasks.c.id)).all()) == 5


def _server_clock(db: Database) -> datetime:
    """The database server's time read another way: PostgreSQL's clock_timestamp(), SQLite's (this
    process's) clock."""
    if db.dialect != "postgresql":
        return datetime.now(UTC)
    with db.read() as conn:
        found: datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    return found


def test_db_now_is_the_servers_clock_and_compares_with_stored_times(db: Database) -> None:
    """SQLite's CURRENT_TIMESTAMP text ('2026-01-05 08:00:00') sorts before the stored
    '2026-01-05 08:00:00.500000' of the same second; the bound value from db_now compares correctly."""
    with db.write() as conn:
        server = tasks.db_now(conn)
    # The server's clock, not ours: under `faketime` (issue 15) PostgreSQL keeps the real time.
    assert server.tzinfo is not None and abs(server - _server_clock(db)) < timedelta(seconds=5)
    case_id = _case(db)
    _plan(db, case_id, 1)
    with db.write() as conn:
        half_second_on = tasks.db_now(conn) + timedelta(milliseconds=500)
        conn.execute(update(scheduled_tasks).values(lease_until=half_second_on, lease_owner="a"))
    # The lease holds for another half second: nobody else may claim yet, on either engine.
    assert tasks.claim_due(db, "b", 10, NOW, LEASE) == []


def test_a_task_is_claimed_only_when_due_on_the_app_clock(db: Database) -> None:
    case_id = _case(db)
    _plan(db, case_id, 2, due=NOW + timedelta(hours=1))
    assert tasks.claim_due(db, "a", 10, NOW, LEASE) == []
    claimed = tasks.claim_due(db, "a", 10, NOW + timedelta(hours=1), LEASE)
    assert [t.key for t in claimed] == ["alarm:x:0", "alarm:x:1"] and claimed[0].attempts == 1


def test_a_live_lease_keeps_others_off_and_an_expired_one_is_taken_over(db: Database) -> None:
    case_id = _case(db)
    _plan(db, case_id, 1)
    [mine] = tasks.claim_due(db, "a", 10, NOW, LEASE)
    assert tasks.claim_due(db, "b", 10, NOW, LEASE) == []
    # The app clock of "b" being far ahead does not break the lease: leases are on the database clock.
    assert tasks.claim_due(db, "b", 10, NOW + timedelta(days=30), LEASE) == []
    with db.write() as conn:  # let the lease run out on the database clock
        expired = tasks.db_now(conn) - timedelta(seconds=1)
        conn.execute(update(scheduled_tasks).values(lease_until=expired))
    [theirs] = tasks.claim_due(db, "b", 10, NOW, LEASE)
    assert theirs.id == mine.id and theirs.attempts == 2
    with db.write() as conn:
        assert not tasks.finish(conn, mine.id, "a", "sent", NOW), "only the lease holder marks it done"
        assert tasks.finish(conn, theirs.id, "b", "sent", NOW)
    with db.write() as conn:
        assert not tasks.finish(conn, theirs.id, "b", "sent", NOW), "done once"


def test_cancel_keeps_the_tasks_of_the_current_due_time(db: Database) -> None:
    case_id = _case(db)
    later = NOW + timedelta(days=1)
    with db.write() as conn:
        tasks.add(
            conn,
            [NewTask("old", "alarm", case_id, NOW, NOW), NewTask("new", "alarm", case_id, later, later)],
            NOW,
        )
        assert tasks.cancel_pending(conn, case_id, NOW, later) == 1
        assert tasks.cancel_pending(conn, case_id, NOW, None) == 1
    with db.read() as conn:
        states = dict(conn.execute(select(scheduled_tasks.c.dedupe_key, scheduled_tasks.c.state)).all())
    assert states == {"old": "cancelled", "new": "cancelled"}


def test_concurrent_claimers_claim_each_task_once(db: Database) -> None:
    case_id = _case(db)
    with db.write() as conn:
        tasks.add(conn, [NewTask(f"t{i}", "alarm", case_id, NOW, NOW) for i in range(300)], NOW)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while batch := tasks.claim_due(db, name, 7, NOW, LEASE):
            with db.write() as conn:
                for t in batch:
                    assert tasks.finish(conn, t.id, name, "sent", NOW)
            with lock:
                claimed.extend(t.id for t in batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(claimed) == len(set(claimed)) == 300


def test_the_due_scan_uses_the_state_due_at_index(db: Database) -> None:
    with db.read() as conn:
        if db.dialect == "sqlite":
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM scheduled_tasks WHERE state = 'pending' "
                "AND due_at <= '2026-01-05 08:00:00.000000' ORDER BY due_at LIMIT 64"
            ).all()
            assert "ix_scheduled_tasks_state_due_at" in " ".join(str(r) for r in plan)
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # an empty table: make the choice visible
            plan = conn.exec_driver_sql(
                "EXPLAIN SELECT id FROM scheduled_tasks WHERE state = 'pending' "
                "AND due_at <= now() ORDER BY due_at LIMIT 64"
            ).all()
            assert "ix_scheduled_tasks_state_due_at" in " ".join(str(r) for r in plan)
