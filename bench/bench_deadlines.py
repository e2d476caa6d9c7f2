"""Deadline ticks over a million open cases: the due-task scan, the sweep, the overdue list, and firing.

    .venv/bin/python bench/bench_deadlines.py --db sqlite   --cases 1000000
    .venv/bin/python bench/bench_deadlines.py --db postgres --cases 1000000

Bulk-loads N routed cases with their case_clocks rows and three tasks each (a reminder, an interim notice
and an alarm, all in the future), makes --due of the alarms due now, then times one claim round of the
worker (the indexed scan and its lease update), an idle round (nothing due), a sweep stretch (500 cases),
the `cases --overdue` query, and firing claimed tasks for real (compose and queue the mail). Prints the
query plans. --max-seconds bounds the loading: fewer cases are loaded when it runs out.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select, update

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gateway.deadlines.worker import DeadlineWorker  # noqa: E402
from gateway.rules.live import LiveConfig, read_config  # noqa: E402
from gateway.runtime.build import Gateway  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from gateway.store import clocks, migrate, tasks  # noqa: E402
from gateway.store.db import Database, make_engine  # noqa: E402
from gateway.store.tables import cases, scheduled_tasks  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime.now(UTC).replace(microsecond=0)
CHUNK = 50_000


def _rows(start: int, stop: int, due_ids: set[int]) -> tuple[list[tuple[object, ...]], ...]:
    case_rows, clock_rows, task_rows = [], [], []
    for i in range(start, stop):
        due = NOW + timedelta(days=1 + i % 30, minutes=i % 480)
        code = f"HEL-{i:09d}"
        case_rows.append(
            (i, code, "routed", "smtp", NOW, NOW, f"a{i}@example.fi", "", "fi", "s", "t", "talvi", due)
        )
        clock_rows.append((i, "routed", due, NOW))
        stamp = due.strftime("%Y-%m-%dT%H:%M:%SZ")
        alarm_at = NOW - timedelta(minutes=1) if i in due_ids else due
        task_rows.append(
            (3 * i, f"reminder:{code}:{stamp}:1", "reminder", i, due - timedelta(days=1), due, NOW)
        )
        task_rows.append((3 * i + 1, f"interim:{code}:{stamp}:0", "interim", i, due, due, NOW))
        task_rows.append((3 * i + 2, f"alarm:{code}:{stamp}:1", "alarm", i, alarm_at, due, NOW))
    return case_rows, clock_rows, task_rows


CASE_COLS = "id, code, status, channel, created_at, updated_at, resident_email, resident_name, language, " \
    "subject, text, department, due_at"  # fmt: skip
CLOCK_COLS = "case_id, status_seen, due_seen, planned_at"
TASK_COLS = "id, dedupe_key, kind, case_id, due_at, planned_for, state, attempts, created_at"


def _lite(value: object) -> object:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def load(db: Database, n: int, due: int, max_seconds: float) -> int:
    """Bulk-load up to *n* cases; return how many were loaded before time ran out."""
    due_ids = set(range(0, n, max(n // max(due, 1), 1)))
    started, loaded = time.monotonic(), 0
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for start in range(0, n, CHUNK):
            case_rows, clock_rows, task_rows = _rows(start, min(start + CHUNK, n), due_ids)
            task_rows = [(*t[:6], "pending", 0, t[6]) for t in task_rows]
            if db.dialect == "sqlite":
                cur.execute("BEGIN")
                for table, cols, rows in (
                    ("cases", CASE_COLS, case_rows),
                    ("case_clocks", CLOCK_COLS, clock_rows),
                    ("scheduled_tasks", TASK_COLS, task_rows),
                ):
                    marks = ", ".join("?" * len(rows[0]))
                    cur.executemany(
                        f"INSERT INTO {table} ({cols}) VALUES ({marks})", [tuple(map(_lite, r)) for r in rows]
                    )
                cur.execute("COMMIT")
            else:
                for table, cols, rows in (
                    ("cases", CASE_COLS, case_rows),
                    ("case_clocks", CLOCK_COLS, clock_rows),
                    ("scheduled_tasks", TASK_COLS, task_rows),
                ):
                    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                        for row in rows:
                            copy.write_row(row)
                raw.commit()
            loaded = min(start + CHUNK, n)
            if time.monotonic() - started > max_seconds:
                print(f"loading stopped by --max-seconds after {loaded:,} cases", file=sys.stderr)
                break
        if db.dialect == "postgresql":  # COPY with explicit ids leaves the id sequences behind
            for table in ("cases", "scheduled_tasks"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            cur.execute("ANALYZE")
            raw.commit()
        else:
            cur.execute("ANALYZE")
    finally:
        raw.close()
    print(f"loaded {loaded:,} cases, {3 * loaded:,} tasks in {time.monotonic() - started:.1f} s")
    return loaded


def timed(fn: object, rounds: int) -> tuple[float, float]:
    """Median and max milliseconds of *rounds* calls."""
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def vacuum(db: Database) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE scheduled_tasks" if db.dialect == "postgresql" else "ANALYZE")


def explain(db: Database) -> None:
    lite = db.dialect == "sqlite"
    at = "'" + _lite(NOW) + "'" if lite else "now()"  # type: ignore[operator]
    prefix = "EXPLAIN QUERY PLAN " if lite else "EXPLAIN (ANALYZE, BUFFERS) "
    queries = {
        "due scan": "SELECT id FROM scheduled_tasks WHERE state = 'pending' AND due_at <= "
        f"{at} AND (lease_until IS NULL OR lease_until < {at}) ORDER BY due_at, id LIMIT 64",
        "overdue": f"SELECT code FROM cases WHERE status IN ('new', 'routed') AND due_at < {at} "
        "ORDER BY due_at LIMIT 1000",
    }
    with db.engine.connect() as conn:
        for name, sql in queries.items():
            print(f"\n-- plan: {name}")
            for row in conn.exec_driver_sql(prefix + sql):
                print("   ", " | ".join(str(c) for c in row))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--due", type=int, default=2_000, help="alarms due now")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--max-seconds", type=float, default=600)
    args = p.parse_args()
    name = f"bench_deadlines_{uuid.uuid4().hex[:8]}"
    if args.db == "sqlite":
        url = f"sqlite:////tmp/{name}.db"
    else:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    db = Database(make_engine(url))
    try:
        migrate.upgrade(db)
        n = load(db, args.cases, args.due, args.max_seconds)
        explain(db)
        lease = timedelta(seconds=60)
        claimed: list[int] = []

        def claim() -> None:
            got = tasks.claim_due(db, "bench", 64, NOW, lease)
            claimed.extend(t.id for t in got)
            with db.write() as conn:  # done, so the next round claims the next 64
                conn.execute(
                    update(scheduled_tasks)
                    .where(scheduled_tasks.c.id.in_([t.id for t in got]))
                    .values(state="done")
                )

        med, worst = timed(claim, args.rounds)
        print(
            f"\nclaim round (64 due of {3 * n:,} tasks, lease + done): "
            f"median {med:.2f} ms, max {worst:.2f} ms"
        )
        with db.write() as conn:
            conn.execute(
                update(scheduled_tasks)
                .where(scheduled_tasks.c.kind == "alarm", scheduled_tasks.c.due_at <= NOW)
                .values(state="done")
            )
        vacuum(db)  # what autovacuum does after a bulk change: the index no longer lists dead rows
        med, worst = timed(lambda: tasks.claim_due(db, "bench", 64, NOW, lease), args.rounds)
        print(f"idle round (nothing due): median {med:.2f} ms, max {worst:.2f} ms")
        cursor = [0]

        def sweep() -> None:
            with db.read() as conn:
                found, last = clocks.out_of_step(conn, cursor[0], 500)
            assert not found
            cursor[0] = last or 0

        med, worst = timed(sweep, args.rounds)
        print(f"sweep stretch (500 cases, all in step): median {med:.2f} ms, max {worst:.2f} ms")

        def overdue() -> None:
            with db.read() as conn:
                conn.execute(
                    select(cases.c.code)
                    .where(cases.c.status.in_(("new", "routed")), cases.c.due_at < NOW + timedelta(days=2))
                    .order_by(cases.c.due_at)
                    .limit(1000)
                ).all()

        med, worst = timed(overdue, args.rounds)
        print(f"cases --overdue (first 1,000): median {med:.2f} ms, max {worst:.2f} ms")
        fire(db, url)
    finally:
        db.dispose()
        if args.db == "postgres":
            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"/tmp/{name}.db{suffix}").unlink(missing_ok=True)
    return 0


def fire(db: Database, url: str) -> None:
    """Fire 320 alarms for real: lock the case, compose, queue the mail, mark done, plan the next."""
    with db.write() as conn:
        ids = list(
            conn.execute(
                select(scheduled_tasks.c.id)
                .where(scheduled_tasks.c.kind == "alarm")
                .order_by(scheduled_tasks.c.id)
                .limit(320)
            ).scalars()
        )
        conn.execute(
            update(scheduled_tasks)
            .where(scheduled_tasks.c.id.in_(ids))
            .values(state="pending", due_at=NOW - timedelta(minutes=1))
        )
    settings = Settings(database_url=url, config_dir=REPO / "tests" / "fixtures" / "config")
    live = LiveConfig(settings, read_config(settings))
    parts = Gateway(
        dataclasses.replace(settings, reply_secret="bench-secret-of-32-bytes-or-more-0123"), live, db
    )
    worker = DeadlineWorker(db, parts.deadline_mail, live, lambda: NOW, "bench", sweep_batch=1)
    import logging

    logging.disable(logging.INFO)
    t, fired = time.perf_counter(), 0
    while fired < 320:
        claimed = tasks.claim_due(db, "bench", 64, NOW, timedelta(seconds=60))
        if not claimed:
            break
        for task in claimed:
            worker._fire(task)
        fired += len(claimed)
    elapsed = time.perf_counter() - t
    print(
        f"firing: {fired} alarms in {elapsed:.2f} s = {fired / elapsed:.0f} tasks/s, "
        f"{1000 * elapsed / fired:.1f} ms each"
    )


if __name__ == "__main__":
    raise SystemExit(main())
