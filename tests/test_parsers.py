"""Parser processes: receipts parsed beside intake, in order, and nothing lost when a parser dies."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.intake.parsers import ParserPool
from gateway.mail import parse
from gateway.model import InboundMessage, NewReceipt
from gateway.rules.live import LiveConfig, read_config
from gateway.runtime.build import Gateway
from gateway.store import migrate
from gateway.store import receipts as receipt_store
from gateway.store.db import Database, make_engine
from gateway.store.receipts import Receipt
from gateway.store.tables import cases, receipts
from tests.support.daemon import make_settings
from tests.support.mail import count, make_mail

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def choking(raw: bytes, **kwargs: Any) -> InboundMessage:
    """A parser with a bug: module level, so that a parser process can load it by name."""
    if b"POISON" in raw:
        raise ValueError("the parser choked")
    return parse(raw, **kwargs)


def receipt(n: int, subject: str | None = None) -> Receipt:
    mail = make_mail(sender=f"asukas{n}@example.fi", subject=subject or f"Kuoppa {n}")
    return Receipt(n, "smtp", mail.as_bytes(), f"asukas{n}@example.fi", ("palaute@hel.example",), 1, NOW)


def everything(pool: ParserPool, batch: list[Receipt]) -> list[tuple[Receipt, InboundMessage | str]]:
    stream = pool.parse(batch)
    out = []
    while part := stream.wait():
        out.extend(part)
    return out


@pytest.fixture
def pool() -> Iterator[ParserPool]:
    parsers = ParserPool(1, "HEL", chunk=3, function=choking)
    yield parsers
    parsers.close()


def test_a_round_is_parsed_in_another_process_in_order(pool: ParserPool) -> None:
    batch = [receipt(n) for n in range(1, 11)]
    parsed = everything(pool, batch)
    [pid] = pool.pids()
    assert pid != os.getpid()
    assert [r.id for r, _ in parsed] == list(range(1, 11))
    for r, msg in parsed:
        assert msg == parse(r.raw, envelope_rcpts=r.rcpt_tos, mail_from=r.mail_from, code_prefix="HEL")


def test_a_message_the_parser_chokes_on_comes_back_as_its_error(pool: ParserPool) -> None:
    parsed = everything(pool, [receipt(1), receipt(2, "POISON"), receipt(3)])
    assert isinstance(parsed[0][1], InboundMessage) and isinstance(parsed[2][1], InboundMessage)
    error = parsed[1][1]
    assert isinstance(error, str) and "the parser choked" in error


def test_a_killed_parser_costs_nothing_but_time(pool: ParserPool) -> None:
    everything(pool, [receipt(1)])
    [pid] = pool.pids()
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    parsed = everything(pool, [receipt(n) for n in range(1, 8)])  # parsed here instead
    assert [r.id for r, msg in parsed if isinstance(msg, InboundMessage)] == list(range(1, 8))
    everything(pool, [receipt(9)])
    [fresh] = pool.pids()  # and the next round has a parser process again
    assert fresh != pid


def test_chunks_cancelled_by_a_shutdown_are_parsed_here() -> None:
    """A pool shut down (or replaced after a crash) cancels the chunks it had not started: a round that
    was already handed to it still gets every message parsed."""
    parsers = ParserPool(1, "HEL", chunk=1)
    stream = parsers.parse([receipt(n) for n in range(1, 13)])
    parsers.close()  # cancels what had not started
    parsed = []
    while part := stream.wait():
        parsed.extend(part)
    assert [r.id for r, msg in parsed if isinstance(msg, InboundMessage)] == list(range(1, 13))


def test_ready_hands_over_only_what_is_parsed_by_now(pool: ParserPool) -> None:
    stream = pool.parse([receipt(n) for n in range(1, 8)])
    first = stream.wait()
    assert [r.id for r, _ in first] == [1, 2, 3]
    deadline = time.monotonic() + 10
    taken: list[int] = []
    while len(taken) < 4 and time.monotonic() < deadline:
        taken.extend(r.id for r, _ in stream.ready())
    assert taken == [4, 5, 6, 7]
    assert stream.wait() == [] and stream.ready() == []


def test_intake_with_a_parser_process_makes_every_case_and_parks_the_poison(
    tmp_path: Path, database_url: str, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, database_url, config_dir=config_dir, intake_parsers=1)
    db = Database(make_engine(database_url))
    migrate.upgrade(db)
    worker = Gateway(settings, LiveConfig(settings, read_config(settings)), db)
    monkeypatch.setattr(worker.intake, "_parsers", ParserPool(1, "HEL", chunk=2, function=choking))
    batch = [receipt(n, "POISON" if n == 4 else None) for n in range(1, 10)]
    with db.write() as conn:
        receipt_store.insert_receipts(
            conn, [NewReceipt("smtp", r.raw, r.mail_from, r.rcpt_tos, "127.0.0.1") for r in batch], NOW
        )
    try:
        assert worker.intake.run_once(16) == 9
        assert count(db, cases) == 8
        assert count(db, receipts, receipts.c.state == "parked") == 1
        assert count(db, receipts, receipts.c.state == "done") == 8
    finally:
        worker.intake.close()
        db.dispose()


def test_intake_claims_the_next_round_while_it_settles_this_one(
    tmp_path: Path, database_url: str, config_dir: Path
) -> None:
    settings = make_settings(tmp_path, database_url, config_dir=config_dir, intake_parsers=1)
    db = Database(make_engine(database_url))
    migrate.upgrade(db)
    worker = Gateway(settings, LiveConfig(settings, read_config(settings)), db)
    batch = [receipt(n) for n in range(1, 8)]
    with db.write() as conn:
        receipt_store.insert_receipts(
            conn, [NewReceipt("smtp", r.raw, r.mail_from, r.rcpt_tos, "127.0.0.1") for r in batch], NOW
        )
    leased = (receipts.c.state == "pending") & (receipts.c.lease_owner == worker.owner)
    try:
        assert worker.intake.run_once(3) == 3
        assert count(db, cases) == 3
        assert count(db, receipts, leased) == 3  # the next round: claimed, being parsed
        # The next round was full too; the last one (one receipt) was not, so nothing more is claimed.
        rounds = [worker.intake.run_once(3) for _ in range(3)]
        assert rounds == [3, 1, 0]
        assert count(db, cases) == 7
        assert count(db, receipts, receipts.c.state == "pending") == 0
    finally:
        worker.intake.close()
        db.dispose()
