"""`gateway.intake.ports.MailboxPort` on the database, for mailbox readers (IMAP): a reader's lease on
its mailbox, and its batches of fetched mail committed as receipts with how far reading got, at once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from gateway.model.receipt import MailboxState, NewReceipt
from gateway.store import mailboxes
from gateway.store.db import Database
from gateway.store.receipts import insert_receipts


class MailboxDesk:
    """`MailboxPort` on the database; *on_commit* wakes intake after a batch stored something."""

    def __init__(
        self, db: Database, clock: Callable[[], datetime], on_commit: Callable[[], None] = lambda: None
    ) -> None:
        self._db = db
        self._clock = clock
        self.on_commit = on_commit

    def take_lease(self, name: str, owner: str, lease: timedelta) -> MailboxState | None:
        """Take or renew the mailbox's lease; its state, or None while another node holds it."""
        return mailboxes.take_lease(self._db, name, owner, self._clock(), lease)

    def release(self, name: str, owner: str) -> None:
        mailboxes.release(self._db, name, owner, self._clock())

    def record_error(self, name: str, error: str) -> None:
        mailboxes.record_error(self._db, name, error, self._clock())

    def receive_batch(
        self, name: str, owner: str, uidvalidity: int, last_uid: int, items: Sequence[NewReceipt]
    ) -> int:
        """Commit *items* as receipts and the mailbox's progress to *last_uid*, durably, in one
        transaction; skip an item whose bytes this mailbox's peer stored before (a crash between the
        commit and the IMAP move reads it again). Raises LeaseLost, rolling back, when another node holds
        the mailbox now. Returns how many receipts were stored."""
        now = self._clock()
        with self._db.write() as conn:
            mailboxes.record_progress(conn, name, owner, uidvalidity, last_uid, now)
            peers = {item.peer for item in items}
            seen = set().union(*(mailboxes.stored_hashes(conn, p, [i.raw for i in items]) for p in peers))
            fresh: list[NewReceipt] = []
            for item in items:
                digest = hashlib.sha256(item.raw).hexdigest()
                if digest not in seen:
                    seen.add(digest)
                    fresh.append(item)
            if fresh:
                insert_receipts(conn, fresh, now)
        if fresh:
            self.on_commit()
        return len(fresh)
