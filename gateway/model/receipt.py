"""What a channel hands to intake: the raw input and its envelope, before anything is made of it."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model.kinds import Channel

ReceiptId = int


@dataclass(frozen=True, slots=True)
class NewReceipt:
    """One submission as it arrived: a mail's bytes (or, for the web, the request body), the envelope's
    reverse-path and recipients, and the client's address (new cases per client are limited)."""

    channel: Channel
    raw: bytes
    mail_from: str | None
    rcpt_tos: tuple[str, ...]
    peer: str = ""


@dataclass(frozen=True, slots=True)
class MailboxState:
    """How far reading an IMAP mailbox got: the folder's UIDVALIDITY and the last UID committed."""

    uidvalidity: int | None
    last_uid: int
