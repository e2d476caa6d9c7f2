"""A real daemon on ephemeral ports, in a thread of the test process, with a hand on its clock and parts."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from gateway.rules.live import LiveConfig, read_config
from gateway.runtime.build import Gateway
from gateway.runtime.daemon import Daemon
from gateway.settings import Settings
from gateway.store import migrate
from gateway.store.db import Database, make_engine

T = TypeVar("T")


# Where every test daemon's clock starts: a Tuesday morning in Helsinki office hours, no holiday near.
# Not today: a test must not pass or fail with the date it runs on (issue 15).
START = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


class Clock:
    """A clock tests can move. It starts at *start* and runs at the pace of the real (monotonic) clock,
    so that leases, backoffs and rate windows pass as in life, whatever the system date says."""

    def __init__(self, start: datetime = START) -> None:
        self.offset = timedelta(0)
        self._start = start
        self._began = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._began) + self.offset

    def move_to(self, when: datetime) -> None:
        """Make the clock read *when* now (and run on from there)."""
        self.offset += when - self()

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


class RunningDaemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock()
        self.db = Database(make_engine(settings.database_url))
        migrate.upgrade(self.db)
        self.live = LiveConfig(settings, read_config(settings))
        self.daemon: Daemon | None = None
        self.parts: Gateway  # what the daemon runs, once it started
        self.loop: asyncio.AbstractEventLoop | None = None
        self.exit_code: int | None = None
        self._thread = threading.Thread(target=self._main, name="daemon", daemon=True)

    def _main(self) -> None:
        async def go() -> int:
            self.loop = asyncio.get_running_loop()
            self.parts = Gateway(self.settings, self.live, self.db, clock=self.clock)
            self.daemon = Daemon(self.parts)
            return await self.daemon.run(install_signals=False)

        self.exit_code = asyncio.run(go())

    def start(self) -> RunningDaemon:
        self._thread.start()
        wait_for(lambda: self.daemon is not None and self.daemon.ready.is_set(), what="daemon start")
        return self

    @property
    def port(self) -> int:
        assert self.daemon is not None
        return self.parts.smtp.port

    @property
    def maildir(self) -> Path:
        return self.settings.outbox_maildir

    def stop(self) -> None:
        if self.loop is not None and self.daemon is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.daemon.stopping.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "daemon did not stop within 30 s"
        self.db.dispose()


TEST_SECRET = "test-secret-of-the-suite-0123456789abcdef"  # 32 bytes or more (gateway/signing.py)


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    base = Settings(
        database_url=database_url,
        smtp_port=0,
        http_port=0,  # the web front on a port of its own per test daemon (issue 17)
        smtp_hostname="gateway.test",
        outbox_maildir=tmp_path / "outbox",
        poll_interval=0.05,
        log_format="console",
        reply_secret=TEST_SECRET,
        # In-process test daemons parse in their intake thread: tests can patch the parser, and no test
        # waits for a parser process to start. tests/test_parsers.py and the process tests run them.
        intake_parsers=0,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def wait_for(predicate: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll *predicate* until it returns something truthy; fail the test after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
