"""One inbound message, normalised: the parse contract of DESIGN.md, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gateway.model.kinds import AutoReplySignal


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
    # What a web, API, phone or walk-in submission says besides its text (issue 17); mail has none of it
    category: str | None = None  # a key of departments.yaml's `categories:`
    location: tuple[float, float] | None = None  # (lat, lon), WGS 84
    address: str = ""  # the place as the resident wrote it
    phone: str = ""  # the resident's phone number, when given
    publish_consent: bool = False  # the resident allows publishing (after moderation)
    entered_by: str = ""  # phone and walk-in: the staff member who entered it (issue 18)
    desk: str = ""  # phone and walk-in: the desk or office where it was taken
