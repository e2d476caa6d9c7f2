"""The receipt port: the one way every channel hands its input to intake, and acknowledges only after it
returned (SMTP 250, the IMAP move, HTTP 202). Protocols only, importing nothing but `model`, so that a
channel depends on intake's promise and not on the store behind it (the import contract checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from gateway.model.receipt import MailboxState, NewReceipt, ReceiptId, Stored


class Receiver(Protocol):
    """Returns the receipt's id once its row is durable; raises StorageError (the channel answers "try
    again later") when it could not be committed. Batching is behind it (`intake.receive`)."""

    async def receive(self, item: NewReceipt) -> ReceiptId: ...

    async def submit(self, item: NewReceipt) -> Stored:
        """The same commit, answering what *item* became: a web submission needs its tracking code, and
        a retried one (the same idempotency key) the code it was given the first time (issue 17)."""
        ...


class MailboxPort(Protocol):
    """What a mailbox reader (IMAP, in a thread of its own) may do: hold its mailbox, and hand in what it
    fetched together with how far it got, in one durable transaction (`intake.mailbox_desk`)."""

    def take_lease(self, name: str, owner: str, lease: timedelta) -> MailboxState | None: ...

    def release(self, name: str, owner: str) -> None: ...

    def record_error(self, name: str, error: str) -> None: ...

    def receive_batch(
        self, name: str, owner: str, uidvalidity: int, last_uid: int, items: Sequence[NewReceipt]
    ) -> int: ...
