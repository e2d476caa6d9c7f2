"""Tests that kill mutations the suite once let through (issue 15 item 15): a receipt's commit before `250`
waits for the disk; an address that bounced lately gets no automatic notice. Negative checks read the
outbox rows once everything has settled, never the maildir too early."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select, text

from gateway.intake import receive as receipt_writer
from gateway.store import outbox as outbox_store
from gateway.store.tables import outbox, receipts
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, count, make_mail, send, settled

RESIDENT = "matti@example.fi"


def _durability(conn: Connection) -> str:
    """How the commit of *conn*'s transaction will wait for the disk, as the engine itself says."""
    if conn.dialect.name == "sqlite":
        level = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
        return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[int(level)]
    return str(conn.execute(text("SHOW synchronous_commit")).scalar_one())


def test_the_receipt_commit_before_250_waits_for_the_disk(
    gateway: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: synchronous=FULL in the receipt's transaction (NORMAL in WAL mode may lose the last commits
    in a power cut); PostgreSQL: synchronous_commit not off. Read inside the very transaction the writer
    commits, so that neither an option on the writer's transaction nor the connection's set-up can skip it."""
    seen: list[str] = []
    insert = receipt_writer.store_receipts

    def recording(conn: Connection, items: Any, now: Any) -> list[Any]:
        seen.append(_durability(conn))
        return insert(conn, items, now)

    monkeypatch.setattr(receipt_writer, "store_receipts", recording)
    for n in range(3):
        assert send(gateway.port, make_mail(subject=f"Lunta {n}")) == {}
        # After the 250 the row is committed: another connection sees it.
        assert count(gateway.db, receipts) == n + 1
    assert seen and len(seen) <= 3
    durable = {"FULL", "EXTRA"} if gateway.db.dialect == "sqlite" else {"on", "remote_apply", "remote_write"}
    assert set(seen) <= durable, seen


def _receipts_to(gateway: RunningDaemon, address: str) -> list[str]:
    with gateway.db.read() as conn:
        rows = conn.execute(
            select(outbox.c.state).where(outbox.c.kind == "receipt", outbox.c.recipient == address)
        )
        return list(rows.scalars())


def _new_case(gateway: RunningDaemon, sender: str, subject: str) -> None:
    before = count(gateway.db, receipts, receipts.c.state == "done")
    send(gateway.port, make_mail(sender=sender, subject=subject))
    wait_for(lambda: count(gateway.db, receipts, receipts.c.state == "done") == before + 1, what="intake")
    wait_for(lambda: settled(gateway.db), what="the deliveries to be recorded")


@pytest.mark.parametrize("bounced_ago", [timedelta(0), timedelta(hours=23)])
def test_no_receipt_to_an_address_that_bounced_lately(
    start_gateway: Callable[..., RunningDaemon], bounced_ago: timedelta
) -> None:
    gateway = start_gateway(unreachable_days=1)
    _new_case(gateway, RESIDENT, "Lunta kadulla")
    assert _receipts_to(gateway, RESIDENT) == ["sent"]
    with gateway.db.write() as conn:
        [message_id] = conn.execute(select(outbox.c.message_id).where(outbox.c.kind == "receipt")).scalars()
        assert message_id is not None
        marked = outbox_store.mark_bounced(conn, (message_id,), "550 5.1.1 no such user", gateway.clock())
    assert marked == [(RESIDENT, "receipt")]
    gateway.clock.advance(bounced_ago)

    _new_case(gateway, RESIDENT, "Katuvalo rikki")  # a new case, not a follow-up: its own receipt is owed
    _new_case(gateway, "liisa@example.fi", "Katuvalo rikki")  # the control: another resident gets one
    assert len(all_cases(gateway.db)) == 3
    assert _receipts_to(gateway, RESIDENT) == ["bounced"], "a receipt went to an address that bounced"
    assert _receipts_to(gateway, "liisa@example.fi") == ["sent"]

    gateway.clock.advance(timedelta(days=1, minutes=1) - bounced_ago)  # the hold is over
    _new_case(gateway, RESIDENT, "Roskis täynnä")
    assert sorted(_receipts_to(gateway, RESIDENT)) == ["bounced", "sent"]
