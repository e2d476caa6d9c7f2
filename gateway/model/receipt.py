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
    # A web, API, phone or walk-in submission's tracking code, drawn before the receipt is stored so that
    # the submitter sees it at once; the case intake opens carries exactly this code (issue 17).
    tracking_code: str | None = None
    # Who sent it (an API client's name, "form" for the web form) and the key it gave: the same key from
    # the same client again is the same submission, answered alike and stored once (Idempotency-Key).
    client: str = ""
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """What the receipt port answers once a receipt is durable: its id and tracking code. `replayed`:
    the client's idempotency key named a receipt stored before, whose id and code these are, and
    `same_body` tells whether the body was the same (else the key was reused for something else)."""

    id: ReceiptId
    tracking_code: str | None = None
    replayed: bool = False
    same_body: bool = True


@dataclass(frozen=True, slots=True)
class MailboxState:
    """How far reading an IMAP mailbox got: the folder's UIDVALIDITY and the last UID committed."""

    uidvalidity: int | None
    last_uid: int
