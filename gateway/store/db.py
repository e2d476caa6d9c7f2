"""Engines and transactions: one code path for SQLite and PostgreSQL, with writes that cannot deadlock."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.errors import Conflict, StorageError
from gateway.store.turns import NoSign, WaitingSign

BUSY_TIMEOUT_MS = 10_000
EAGER_POLL_S = 0.0005  # how often the receipt writer asks for SQLite's write lock while another has it
WRITER_POLL_S = 0.002  # how often other writers ask
T = TypeVar("T")


def _configure_sqlite(engine: Engine, sign: WaitingSign | NoSign) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for every write transaction.

    With a plain deferred BEGIN, concurrent read-then-write transactions fail with "database is locked"
    in spite of the busy timeout, because SQLite cannot upgrade a reader to a writer while another writer
    waits (docs/findings.md). Taking the write lock at BEGIN makes writers queue
    instead. Read-only transactions keep a deferred BEGIN so they never wait for writers (WAL).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # durable 250s; group commit pays for it (docs/findings.md)
        record.info["synchronous"] = "FULL"
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("readonly", False):
            conn.exec_driver_sql("BEGIN")
            return
        # SQLite's busy handler sleeps in growing steps, up to 100 ms, while another process writes: two
        # workers waiting for each other lost most of their time asleep. Ask for the lock with no busy
        # timeout and retry every few milliseconds instead (the receipt writer, whom senders wait for,
        # more often). Past the patience (BUSY_TIMEOUT_MS unless the connection says otherwise) one last
        # BEGIN raises SQLAlchemy's OperationalError, which write() turns into a StorageError (a 451).
        raw = conn.connection.dbapi_connection
        assert raw is not None
        # A transaction that need not survive a power cut on its own commits without an fsync: the next
        # durable commit of any connection fsyncs the WAL, its frames included (decision 0012).
        synchronous = "FULL" if options.get("durable", True) else "NORMAL"
        if conn.connection.info.get("synchronous") != synchronous:
            raw.execute(f"PRAGMA synchronous={synchronous}")
            conn.connection.info["synchronous"] = synchronous
        eager = options.get("eager", False)
        poll = EAGER_POLL_S if eager else WRITER_POLL_S
        deadline = time.monotonic() + options.get("patience", BUSY_TIMEOUT_MS / 1000)
        raw.execute("PRAGMA busy_timeout=0")
        waiting = False
        try:
            while time.monotonic() < deadline:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc):
                        break
                    if eager and not waiting:  # senders wait for this one: intake steps aside (0015)
                        sign.raise_()
                        waiting = True
                    time.sleep(poll)
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # once more, raising as SQLAlchemy does if still locked
        finally:
            if waiting:
                sign.lower()
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def waiting_sign(engine: Engine) -> WaitingSign | NoSign:
    """The sign beside *engine*'s SQLite file that its receipt writer is waiting (decision 0015); every
    mapping of the file, in any process, sees the same eight bytes."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return NoSign()
    try:
        return WaitingSign(Path(f"{database}-waiting"))
    except OSError:  # an operator's read-only view of the data: nobody there to step aside for
        return NoSign()


def _create_private(database: Path) -> None:
    """Create the SQLite file readable by its owner only, before SQLite would create it with the umask's
    0644: it holds residents' mail. SQLite gives its -wal and -shm files the database file's mode."""
    database.parent.mkdir(parents=True, exist_ok=True)
    if not database.exists():
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))


def make_engine(url: str) -> Engine:
    """Return an engine for *url*, creating the folder of a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine, waiting_sign(engine))
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    # Every connection speaks UTC, so that now() and timestamps agree whatever the server's zone.
    return create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"options": "-c timezone=UTC"},
    )


@contextlib.contextmanager
def savepoint(conn: Connection) -> Iterator[Connection]:
    """A savepoint inside the caller's write transaction: what fails in it is undone alone, and raised as
    the error tree's types, so that callers never catch SQLAlchemy's: a unique key met twice (the same
    Message-ID from two nodes, a tracking code drawn twice) is a `Conflict`, retried later; anything else
    the database refused is a `StorageError`."""
    try:
        with conn.begin_nested():
            yield conn
    except IntegrityError as exc:
        raise Conflict(f"database: {exc}".splitlines()[0]) from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"database: {type(exc).__name__}: {exc}".splitlines()[0]) from exc


class Database:
    """The engine and the two kinds of transaction the gateway uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Up while the receipt writer waits for SQLite's write lock (decision 0015).
        self.turns = waiting_sign(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def write(self, durable: bool = True) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on error, StorageError on failure.

        Not *durable*: its commit does not wait for the disk, and a power cut (not a crash of ours) may
        undo it. Only for work that is redone when undone, and that nothing outside the database sees
        before a durable commit follows it, which then takes it to disk too (decision 0012)."""
        try:
            if durable:
                with self.engine.begin() as conn:
                    yield conn
                return
            with self.engine.connect().execution_options(durable=False) as conn, conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database: {type(exc).__name__}: {exc}".splitlines()[0]) from exc

    def write_eagerly(self, work: Callable[[Connection], T], patience: float = BUSY_TIMEOUT_MS / 1000) -> T:
        """Run *work* in a write transaction that asks for SQLite's write lock more often than the others
        and waits for it at most *patience* seconds: the receipt writer's, which senders wait on for their
        250 (see `_configure_sqlite`)."""
        options = {"eager": True, "patience": patience}
        try:
            with self.engine.connect().execution_options(**options) as conn, conn.begin():
                return work(conn)
        except SQLAlchemyError as exc:
            raise StorageError(f"database: {type(exc).__name__}: {exc}".splitlines()[0]) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that never waits for writers."""
        try:
            with self.engine.connect().execution_options(readonly=True) as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database: {type(exc).__name__}: {exc}".splitlines()[0]) from exc

    def dispose(self) -> None:
        self.engine.dispose()
