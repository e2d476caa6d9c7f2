"""The domain values every stage passes on: plain frozen dataclasses and enums, importing nothing of ours."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Channel(enum.StrEnum):
    SMTP = "smtp"
    IMAP = "imap"
    WEB = "web"
    PHONE = "phone"
    WALK_IN = "walk-in"
    OPEN311 = "open311"


class CaseStatus(enum.StrEnum):
    NEW = "new"  # opened, not yet handed over
    ROUTED = "routed"  # handed to a department, waiting for its answer
    WAITING = "waiting"  # staff asked the resident something; the answer clock pauses
    ANSWERED = "answered"
    CLOSED = "closed"


class EventKind(enum.StrEnum):
    OPENED = "opened"
    FOLLOW_UP = "follow-up"  # the resident wrote again
    ROUTED = "routed"
    REROUTED = "rerouted"
    ANSWER = "answer"  # a handler's answer relayed to the resident
    AUTOMATIC = "automatic"  # an auto-reply or bounce kept on the case, never answered
    UNVERIFIED = "unverified"  # a reply that could not be taken as an answer
    NOTE = "note"


class MessageKind(enum.StrEnum):
    """What classify() made of an inbound message."""

    NEW = "new"
    FOLLOW_UP = "follow-up"  # the resident writes again
    ANSWER = "answer"  # a handler answers through the case's signed reply address
    UNVERIFIED = "unverified"  # a reply to a case that is not a valid answer: kept for a person to look at
    AUTOMATIC = "automatic"
    BOUNCE = "bounce"
    LOOP = "loop"  # our own mail coming back


class AutoReplySignal(enum.StrEnum):
    """How surely a message was sent by a machine (issue 15, decision 0019a)."""

    STRONG = "strong"  # the headers that mean it: no case of its own, no receipt
    WEAK = "weak"  # only a sign such as an autoresponder's subject: a case, but no receipt
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Address:
    email: str  # lower-case addr-spec, "" when the message had none
    name: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # decoded bytes
    content: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One normalised message, whatever the channel: the parse contract of DESIGN.md."""

    message_id: str  # without angle brackets; synthesised from the bytes' hash when missing
    sender: Address  # `from` in the JSON contract
    to: tuple[str, ...]  # To and Cc addresses, lower-case
    subject: str
    text: str  # the whole readable body (HTML converted)
    reply_text: str  # only the newly written part: no quotes, no signature
    language: str | None  # "fi", "sv", "en" or None when the text is too short to tell
    attachments: tuple[Attachment, ...] = ()
    auto_reply: bool = False  # surely automatic: auto_reply_signal is STRONG
    bounce: bool = False
    tracking_code: str | None = None  # HEL-XXXX-XXXX, upper-case
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    date: datetime | None = None  # aware UTC, None when missing or unreadable
    loop_marker: str | None = None  # our own X-Gateway-Loop header, when the mail is ours coming back
    bounced_message_ids: tuple[str, ...] = ()  # Message-IDs of ours found in a bounce's returned headers
    cc: tuple[str, ...] = ()
    # raw Authentication-Results values (RFC 8601), checked for staff answers (gateway/mail/authres.py)
    authentication_results: tuple[str, ...] = ()
    auto_reply_signal: AutoReplySignal = AutoReplySignal.NONE
    auto_reply_why: str = ""  # the header or subject that gave the signal
    skipped_parts: int = 0  # MIME parts not read: nested past the depth limit or past max_mime_parts
    attachments_left_out: int = 0  # attachments past max_attachments, kept only in the raw message
    bounced_recipients: tuple[str, ...] = ()  # a DSN's Final-Recipient addresses (RFC 3464), lower-case


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a case goes and why: what the rule engine returns, stored with the case."""

    department: str
    rule: str
    priority: str
    reasons: tuple[str, ...]
    contact: str | None = None  # the delivery address after the duty roster
    webhook: str | None = None
    due: datetime | None = None  # aware UTC
    first_response_due: datetime | None = None
