"""The store on SQLite and the real PostgreSQL: migrations, UTC, concurrent writers, leased claims."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, inspect, select, text

from gateway.errors import StorageError
from gateway.model import EventKind
from gateway.store import cases as case_store
from gateway.store import migrate, outbox, receipts, turns
from gateway.store.db import Database, make_engine
from gateway.store.outbox import OutboundItem
from gateway.store.receipts import NewReceipt
from gateway.store.tables import case_events, cases, metadata
from gateway.store.turns import NoSign, WaitingSign
from tests.support.mail import stored_case

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_migrations_create_every_table_and_downgrade_to_nothing(database_url: str) -> None:
    db = Database(make_engine(database_url))
    try:
        migrate.upgrade(db)
        assert migrate.current_revision(db) == migrate.head_revision(db)
        tables = set(inspect(db.engine).get_table_names())
        assert set(metadata.tables) <= tables
        migrate.upgrade(db)  # idempotent: every start runs it
        migrate.downgrade(db, "base")
        assert migrate.current_revision(db) is None
        assert not set(metadata.tables) & set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()


def test_moving_message_bytes_apart_keeps_every_message_both_ways(database_url: str) -> None:
    """Migration 0005 moves receipts' and outbox rows' bytes into tables of their own, and back."""
    db = Database(make_engine(database_url))
    try:
        migrate.upgrade(db, "0004")
        with db.write() as conn:
            conn.execute(
                text(
                    "INSERT INTO receipts (channel, received_at, mail_from, rcpt_tos, peer, raw, sha256,"
                    " state, attempts) VALUES ('smtp', :now, 'a@b', '[\"p@h\"]', '', :raw, 'x', 'pending', 0)"
                ),
                {"now": NOW.replace(tzinfo=None), "raw": b"Subject: kept\r\n\r\nbody"},
            )
            conn.execute(
                text(
                    "INSERT INTO outbox (dedupe_key, kind, transport, recipient, mail_from, body, state,"
                    " attempts, next_attempt_at, created_at) VALUES ('k', 'receipt', 'mail', 'r@x', '',"
                    " :body, 'pending', 0, :now, :now)"
                ),
                {"now": NOW.replace(tzinfo=None), "body": b"queued mail"},
            )
        migrate.upgrade(db)
        [receipt] = receipts.claim_pending(db, "me", 10, NOW, timedelta(minutes=1))
        assert receipt.raw == b"Subject: kept\r\n\r\nbody"
        [queued] = outbox.claim_due(db, "me", 10, NOW, timedelta(minutes=1))
        assert queued.body == b"queued mail"
        columns = {c["name"] for c in inspect(db.engine).get_columns("receipts")}
        assert "raw" not in columns
        migrate.downgrade(db, "0004")
        with db.read() as conn:
            assert conn.execute(text("SELECT raw FROM receipts")).scalar_one() == receipt.raw
            assert conn.execute(text("SELECT body FROM outbox")).scalar_one() == b"queued mail"
        assert "receipt_bodies" not in inspect(db.engine).get_table_names()
    finally:
        db.dispose()


def test_a_write_that_need_not_be_durable_commits_without_waiting_for_the_disk(db: Database) -> None:
    """Intake's transactions (decision 0012); every other write still waits, on the same connections."""
    query = "PRAGMA synchronous" if db.dialect == "sqlite" else "SHOW synchronous_commit"
    durable, relaxed = ((2,), (1,)) if db.dialect == "sqlite" else (("on",), ("off",))
    for _ in range(2):
        with db.write(durable=False) as conn:
            assert tuple(conn.exec_driver_sql(query).one()) == relaxed
        with db.write() as conn:
            assert tuple(conn.exec_driver_sql(query).one()) == durable
        assert db.write_eagerly(lambda conn: tuple(conn.exec_driver_sql(query).one())) == durable


def test_migrated_schema_matches_the_table_definitions(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def compared(name: str | None, type_: str, parent: object) -> bool:
        """The full-text search's own objects (migration 0011: SQLite's FTS5 tables, PostgreSQL's
        generated tsvector and its GIN index) are the database's, not SQLAlchemy's: "fts" names them."""
        return "fts" not in (name or "")

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": compared})
        diff = compare_metadata(context, metadata)
    assert diff == [], "tables.py changed without a migration"


def test_times_are_stored_as_utc_and_read_back_aware(db: Database) -> None:
    helsinki = timezone(timedelta(hours=2))
    local = datetime(2026, 1, 5, 10, 0, tzinfo=helsinki)
    with db.write() as conn:
        conn.execute(
            cases.insert().values(
                code="HEL-0000-0001", status="new", channel="smtp", created_at=local, updated_at=local
            )
        )
    with db.read() as conn:
        stored = conn.execute(select(cases.c.created_at)).scalar_one()
    assert stored == local and stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0) and stored.hour == 8


def test_naive_times_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive"), db.write() as conn:
        conn.execute(
            cases.insert().values(
                code="HEL-0000-0002", status="new", channel="smtp",
                created_at=datetime(2026, 1, 5), updated_at=datetime(2026, 1, 5),
            )
        )  # fmt: skip


def test_concurrent_read_then_write_transactions_do_not_fail(db: Database) -> None:
    """Four threads claiming and finishing receipts at once: no 'database is locked', no lost work."""
    with db.write() as conn:
        receipts.insert_receipts(
            conn, [NewReceipt("smtp", b"x%d" % i, "a@b", ("p@h",)) for i in range(200)], NOW
        )
    errors: list[BaseException] = []
    done: list[int] = []

    def worker(name: str) -> None:
        try:
            while batch := receipts.claim_pending(db, name, 5, NOW, timedelta(minutes=1)):
                with db.write() as conn:
                    for r in batch:
                        assert receipts.finish(conn, r.id, name, outcome="test", now=NOW)
                        done.append(r.id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(done) == list(range(1, 201))  # each exactly once


def test_a_claim_is_exclusive_until_its_lease_runs_out(db: Database) -> None:
    with db.write() as conn:
        [rid] = receipts.insert_receipts(conn, [NewReceipt("smtp", b"raw", "a@b", ("p@h",))], NOW)
    lease = timedelta(seconds=60)
    assert [r.id for r in receipts.claim_pending(db, "one", 10, NOW, lease)] == [rid]
    assert receipts.claim_pending(db, "two", 10, NOW + timedelta(seconds=30), lease) == []
    [taken] = receipts.claim_pending(db, "two", 10, NOW + timedelta(seconds=61), lease)
    assert taken.attempts == 2
    with db.write() as conn:
        assert not receipts.finish(conn, rid, "one", outcome="late", now=NOW)  # the old owner lost it
        assert receipts.finish(conn, rid, "two", outcome="ok", now=NOW)


def test_outbox_enqueue_is_idempotent_by_key(db: Database) -> None:
    item = OutboundItem("receipt:HEL-0000-0001", "receipt", "matti@example.fi", b"body")
    with db.write() as conn:
        assert outbox.enqueue(conn, item, NOW)
        assert not outbox.enqueue(conn, item, NOW)
    [claimed] = outbox.claim_due(db, "n1", 10, NOW, timedelta(minutes=1))
    assert claimed.body == b"body"
    assert outbox.claim_due(db, "n2", 10, NOW, timedelta(minutes=1)) == []


def test_a_new_cases_events_go_in_with_one_statement_and_come_back_by_kind(db: Database) -> None:
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with db.write() as conn:
        case = stored_case(
            conn, code="HEL-0000-00EV", status="routed", channel="smtp", created_at=NOW, updated_at=NOW,
            resident_email="matti@example.fi", resident_name="Matti", language="fi", subject="s", text="t",
        )  # fmt: skip
        statements.clear()
        ids = case_store.insert_events(
            conn,
            case.id,
            NOW,
            [
                case_store.NewEvent(
                    EventKind.OPENED, actor="matti@example.fi", text="Kuoppa", receipt_id=None
                ),
                case_store.NewEvent(
                    EventKind.ROUTED, actor="rules", text="talvi (snow)", data={"rule": "snow"}
                ),
            ],
        )
        assert len([s for s in statements if s.lstrip().upper().startswith("INSERT")]) == 1
        rows = conn.execute(
            select(case_events.c.id, case_events.c.kind, case_events.c.text, case_events.c.data)
            .where(case_events.c.case_id == case.id)
            .order_by(case_events.c.id)
        ).all()
    assert {EventKind(r.kind): r.id for r in rows} == ids
    assert [(r.kind, r.text, r.data) for r in rows] == [
        ("opened", "Kuoppa", None),
        ("routed", "talvi (snow)", {"rule": "snow"}),
    ]
    with db.write() as conn, pytest.raises(ValueError, match="one event of each kind"):  # not told apart
        case_store.insert_events(conn, case.id, NOW, [case_store.NewEvent(EventKind.NOTE)] * 2)


def test_the_automatic_guard_answers_both_questions_of_a_recipient(db: Database) -> None:
    """One statement: did mail to the address bounce since the first moment, and how many automatic
    notices (not hand-overs, not answers) went to it since the second."""
    hour_ago, bounced_since = NOW - timedelta(hours=1), NOW - timedelta(days=3)
    with db.write() as conn:
        assert outbox.automatic_guard(conn, "matti@example.fi", bounced_since, hour_ago) == (False, 0)
        for n, (kind, to, at) in enumerate(
            [
                ("receipt", "matti@example.fi", NOW - timedelta(minutes=5)),
                ("interim", "matti@example.fi", NOW - timedelta(minutes=50)),
                ("receipt", "matti@example.fi", NOW - timedelta(hours=2)),  # before the hour
                ("answer", "matti@example.fi", NOW - timedelta(minutes=5)),  # not automatic
                ("receipt", "liisa@example.fi", NOW - timedelta(minutes=5)),  # someone else
            ]
        ):
            outbox.enqueue(conn, OutboundItem(f"k{n}", kind, to, b"m", message_id=f"m{n}@x"), at)
        assert outbox.automatic_guard(conn, "matti@example.fi", bounced_since, hour_ago) == (False, 2)
        outbox.mark_bounced(conn, ("m3@x",), "550 no such user", NOW - timedelta(days=4))
        assert outbox.automatic_guard(conn, "matti@example.fi", bounced_since, hour_ago) == (False, 2)
        outbox.mark_bounced(conn, ("m3@x",), "550 no such user", NOW - timedelta(days=1))
        assert outbox.automatic_guard(conn, "matti@example.fi", bounced_since, hour_ago) == (True, 2)
        assert outbox.automatic_guard(conn, "liisa@example.fi", bounced_since, hour_ago) == (False, 1)


def test_outbox_failures_are_retried_later_then_parked(db: Database) -> None:
    with db.write() as conn:
        outbox.enqueue(conn, OutboundItem("k", "receipt", "a@example.fi", b"m"), NOW)
    [item] = outbox.claim_due(db, "n1", 10, NOW, timedelta(minutes=1))
    outbox.record_results(db, "n1", NOW, [], [(item.id, "451 busy", NOW + timedelta(minutes=5))])
    assert outbox.claim_due(db, "n1", 10, NOW + timedelta(minutes=1), timedelta(minutes=1)) == []
    [again] = outbox.claim_due(db, "n1", 10, NOW + timedelta(minutes=6), timedelta(minutes=1))
    outbox.record_results(db, "n1", NOW, [], [(again.id, "550 no such user", None)])
    assert outbox.claim_due(db, "n1", 10, NOW + timedelta(days=1), timedelta(minutes=1)) == []
    assert outbox.next_due(db) is None


class _later(threading.Thread):  # stands in for threading.Timer
    """threading.Timer that sleeps instead of waiting on a lock with a timeout: under `faketime` (issue 15)
    libfaketime fakes the monotonic clock but not the semaphores' timed waits, so a Timer never fires."""

    def __init__(self, delay: float, action: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._delay, self._action = delay, action

    def run(self) -> None:
        time.sleep(self._delay)
        self._action()


def test_an_eager_write_waits_for_a_held_lock_and_gives_up_after_its_patience(tmp_path: Path) -> None:
    """The receipt writer's path on SQLite: it retries a locked database itself instead of SQLite's
    coarse busy handler, succeeds once the lock is free, and gives StorageError (a 451) past its patience."""
    db = Database(make_engine(f"sqlite:///{tmp_path}/lock.db"))
    migrate.upgrade(db)
    holder = sqlite3.connect(tmp_path / "lock.db", isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError, match="locked"):
            db.write_eagerly(
                lambda conn: receipts.insert_receipts(conn, [NewReceipt("smtp", b"x", "", ())], NOW), 0.2
            )
        release = _later(0.3, lambda: holder.execute("COMMIT"))
        release.start()
        ids = db.write_eagerly(
            lambda conn: receipts.insert_receipts(conn, [NewReceipt("smtp", b"y", "", ())], NOW)
        )
        release.join()
        assert ids == [1]
    finally:
        holder.close()
        db.dispose()


def test_an_eager_write_raises_the_waiting_sign_for_all_processes_until_it_has_the_lock(
    tmp_path: Path,
) -> None:
    """Decision 0015: while the receipt writer waits for SQLite's lock, a second engine on the same file
    (another process's) sees the sign up; it is down once the writer has the lock, and after giving up."""
    url = f"sqlite:///{tmp_path}/sign.db"
    db, other = Database(make_engine(url)), Database(make_engine(url))
    migrate.upgrade(db)
    holder = sqlite3.connect(tmp_path / "sign.db", isolation_level=None, check_same_thread=False)
    seen: list[bool] = []
    try:
        assert not other.turns.is_up()
        holder.execute("BEGIN IMMEDIATE")

        def release() -> None:
            seen.append(other.turns.is_up())
            holder.execute("COMMIT")

        timer = _later(0.2, release)
        timer.start()
        db.write_eagerly(lambda conn: receipts.insert_receipts(conn, [NewReceipt("smtp", b"z", "", ())], NOW))
        timer.join()
        assert seen == [True]
        assert not other.turns.is_up()
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError):
            db.write_eagerly(lambda conn: None, 0.05)
        assert not other.turns.is_up()  # lowered on giving up, too
        timer = _later(0.2, release)  # the lock is still held: other writers wait, sign down
        timer.start()
        with db.write():
            pass
        timer.join()
        assert seen == [True, False]
    finally:
        holder.close()
        db.dispose()
        other.dispose()


def test_a_database_whose_sign_cannot_be_made_still_works_without_it(tmp_path: Path) -> None:
    (tmp_path / "ro.db-waiting").mkdir()  # stands in for a folder an operator may only read
    db = Database(make_engine(f"sqlite:///{tmp_path}/ro.db"))
    try:
        migrate.upgrade(db)
        assert isinstance(db.turns, NoSign)
        assert db.write_eagerly(
            lambda conn: receipts.insert_receipts(conn, [NewReceipt("smtp", b"r", "", ())], NOW)
        )
    finally:
        db.dispose()


def test_a_sign_left_up_by_a_dead_process_goes_stale(tmp_path: Path) -> None:
    sign, seen_elsewhere = WaitingSign(tmp_path / "db-waiting"), WaitingSign(tmp_path / "db-waiting")
    sign.raise_()
    assert seen_elsewhere.is_up()
    started = time.monotonic()
    seen_elsewhere.wait_lowered(at_most=0.05)
    assert time.monotonic() - started >= 0.05  # waited its turn, at most
    _later(0.02, sign.lower).start()
    seen_elsewhere.wait_lowered(at_most=5)
    assert not seen_elsewhere.is_up()
    sign.raise_()
    time.sleep(0.01)
    assert seen_elsewhere.is_up()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(turns, "STALE_S", 0.005)
        assert not seen_elsewhere.is_up()  # its writer died waiting: ignored


def test_a_reference_finds_its_case_by_mail_we_sent_and_mail_that_came_in(db: Database) -> None:
    def new_case(conn: Connection, code: str) -> int:
        return case_store.insert_case(
            conn, code=code, status="new", channel="smtp", created_at=NOW, updated_at=NOW,
            resident_email="a@example.fi", resident_name="", language="fi", subject="s", text="t",
        )  # fmt: skip

    with db.write() as conn:
        sent, came_in, before_0014 = (new_case(conn, f"HEL-AAAA-000{i}") for i in range(3))
        outbox.enqueue(
            conn, OutboundItem("k1", "receipt", "a@example.fi", b"m", sent, message_id="ours@h"), NOW
        )
        case_store.remember_message_id(conn, "theirs@x", came_in, "in")
        # Mail of ours recorded in message_ids, as it was before the outbox's Message-ID answered for it.
        case_store.remember_message_id(conn, "old-ours@h", before_0014, "out")
    with db.read() as conn:
        assert case_store.case_for_message_ids(conn, ["unknown@x", "ours@h"]) == sent
        assert case_store.case_for_message_ids(conn, ["theirs@x"]) == came_in
        assert case_store.case_for_message_ids(conn, ["old-ours@h"]) == before_0014
        assert case_store.case_for_message_ids(conn, ["ours@h", "theirs@x"]) == came_in  # the newest wins
        assert case_store.case_for_message_ids(conn, ["theirs@x", "ours@h"]) == sent
        assert case_store.case_for_message_ids(conn, ["nobody@x"]) is None


def test_a_new_sqlite_file_and_its_companions_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Issue 15: the file holds residents' mail; under a umask of 022 SQLite would make it 0644."""
    old = os.umask(0o022)
    try:
        database = Database(make_engine(f"sqlite:///{tmp_path}/var/gateway.db"))
        migrate.upgrade(database)
        with database.write() as conn:
            conn.execute(text("SELECT 1"))
        files = sorted(tmp_path.glob("var/gateway.db*"))
        assert {f.name for f in files} >= {"gateway.db", "gateway.db-wal", "gateway.db-shm"}
        assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: "0o600" for f in files}
        database.dispose()
    finally:
        os.umask(old)


@pytest.mark.parametrize("kind", ["receipt'); DROP TABLE outbox; --", "Receipt", "", "a b"])
def test_a_kind_that_is_not_a_kind_name_never_reaches_the_sql(kind: str) -> None:
    """The outbox writes its kind names into the statement (bench/RESULTS.md): anything else is refused,
    with or without `python -O` (it was an assert)."""
    from gateway.store.outbox import _one_of

    with pytest.raises(ValueError, match="not a kind name"):
        _one_of(("receipt", kind))
