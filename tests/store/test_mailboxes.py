"""The mailbox lease on SQLite and PostgreSQL: one holder at a time, takeover on expiry, fenced progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.store import mailboxes
from gateway.store.db import Database
from gateway.store.mailboxes import LeaseLost, MailboxState
from gateway.store.receipts import NewReceipt, insert_receipts

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def test_one_holder_at_a_time_and_takeover_after_expiry(db: Database) -> None:
    assert mailboxes.take_lease(db, "palaute", "a", NOW, LEASE) == MailboxState(None, 0)
    assert mailboxes.take_lease(db, "palaute", "b", NOW + timedelta(seconds=59), LEASE) is None
    assert mailboxes.take_lease(db, "palaute", "a", NOW + timedelta(seconds=30), LEASE) is not None  # renew
    assert mailboxes.take_lease(db, "palaute", "b", NOW + timedelta(seconds=89), LEASE) is None
    assert mailboxes.take_lease(db, "palaute", "b", NOW + timedelta(seconds=91), LEASE) is not None
    with pytest.raises(LeaseLost), db.write() as conn:  # a's late commit is refused and rolled back
        insert_receipts(conn, [NewReceipt("imap", b"late", None, (), "imap:palaute")], NOW)
        mailboxes.record_progress(conn, "palaute", "a", 7, 3, NOW + timedelta(seconds=92))
    with db.write() as conn:
        mailboxes.record_progress(conn, "palaute", "b", 7, 3, NOW + timedelta(seconds=92))
    assert mailboxes.take_lease(db, "palaute", "b", NOW + timedelta(seconds=93), LEASE) == MailboxState(7, 3)
    with db.read() as conn:
        assert mailboxes.stored_hashes(conn, "imap:palaute", [b"late"]) == set()


def test_release_lets_another_node_in_at_once(db: Database) -> None:
    assert mailboxes.take_lease(db, "palaute", "a", NOW, LEASE) is not None
    mailboxes.release(db, "palaute", "a", NOW)
    assert mailboxes.take_lease(db, "palaute", "b", NOW, LEASE) is not None


def test_stored_hashes_are_per_mailbox(db: Database) -> None:
    with db.write() as conn:
        insert_receipts(conn, [NewReceipt("imap", b"same bytes", None, (), "imap:palaute")], NOW)
    with db.read() as conn:
        assert len(mailboxes.stored_hashes(conn, "imap:palaute", [b"same bytes", b"other"])) == 1
        assert mailboxes.stored_hashes(conn, "imap:kirjaamo", [b"same bytes"]) == set()
