"""Fixtures shared by the suite: a database on SQLite and on the real PostgreSQL, and a running daemon."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from gateway.store import migrate
from gateway.store.db import Database, make_engine
from tests.support.daemon import RunningDaemon, make_settings
from tests.support.servers import missing_server

pytest_plugins = ["tests.support.browser"]  # browser, page, make_page: Chromium for the web front

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_unreachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        return f"no PostgreSQL at {PG_ADMIN_URL} ({reason}); set GATEWAY_TEST_DATABASE_URL"


_PG_SKIP = _pg_unreachable()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if _PG_SKIP:
        missing_server(_PG_SKIP)
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gateway.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database on both engines."""
    database = Database(make_engine(database_url))
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def config_dir() -> Path:
    """The small test city; tests of the shipped configuration load the repository's own files."""
    return REPO / "tests" / "fixtures" / "config"


@pytest.fixture
def start_gateway(
    tmp_path: Path, database_url: str, config_dir: Path
) -> Iterator[Callable[..., RunningDaemon]]:
    """Start a real daemon (SMTP on an ephemeral port) with settings overridden by keyword."""
    started: list[RunningDaemon] = []

    def start(**overrides: object) -> RunningDaemon:
        overrides.setdefault("config_dir", config_dir)
        daemon = RunningDaemon(make_settings(tmp_path, database_url, **overrides)).start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def gateway(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway()
