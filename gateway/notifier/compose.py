"""Composing our outgoing mail: pure functions from values to RFC 5322 bytes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import encode_rfc2231, format_datetime

from gateway.mail import LOOP_HEADER
from gateway.model import Address, Attachment
from gateway.notifier.attachment_types import forwarded_as
from gateway.notifier.reply_address import LOOP_MARK_LABEL, derive_key

SYNTHETIC_ID_DOMAIN = "@gateway.invalid"  # Message-IDs the parser made up for mail that had none


@dataclass(frozen=True, slots=True)
class Identity:
    """Who our mail comes from: the city's address, never an official's."""

    address: str
    name: str
    domain: str  # right-hand side of our Message-IDs
    secret: str  # the master key (reply_secret): loop marks and reply tokens use keys derived from it


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID derived from the outbox dedupe key: a retry after a crash yields the same mail."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{key.split(':', 1)[0]}.{digest}@{domain}"


def loop_marker(identity: Identity, message_id: str) -> str:
    """The value of our loop header: it proves, for this Message-ID, that the mail was ours."""
    # A key of its own, not reply_secret itself (issue 15): a loop mark never doubles as a reply token.
    key = derive_key(identity.secret, LOOP_MARK_LABEL)
    mac = hmac.new(key, message_id.encode(), hashlib.sha256).hexdigest()[:20]
    return f"{identity.domain} {mac}"


def is_our_loop_marker(identity: Identity, message_id: str, value: str | None) -> bool:
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str, which parked the receipt (issue 15).
    given = value.strip().encode("utf-8", "surrogateescape") if value is not None else None
    return given is not None and hmac.compare_digest(given, loop_marker(identity, message_id).encode())


CRLF = "\r\n"


def _one_line(text: str) -> str:
    """Header text from outside (a subject, a display name) as one line: no header can be smuggled in."""
    return " ".join(text.split())


def _encoded(text: str) -> str:
    """*text* as a header value: as it is when ASCII, else RFC 2047 base64 encoded words, one per folded
    line, each cut at a character boundary (email.header.Header took 1.3 ms for a long Finnish subject)."""
    text = _one_line(text)
    if text.isascii():
        return text
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in text:
        n = len(char.encode("utf-8"))
        if size + n > 45:  # 45 bytes -> 60 base64 characters: an encoded word of 72, under 76
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += n
    words.append("".join(chunk))
    encoded = (f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words)
    return f"{CRLF} ".join(encoded)


_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def _mailbox(a: Address) -> str:
    """`Name <address>`; the name encoded or quoted as needed, the address as it is (formataddr refuses
    internationalised addresses, RFC 6532)."""
    name = _one_line(a.name)
    if not name:
        return a.email
    if not name.isascii():
        return f"{_encoded(name)} <{a.email}>"
    if _SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{a.email}>"


def _qp(text: str) -> str:
    """Quoted-printable UTF-8 with CRLF line ends (binascii's C encoder: the stdlib's Python one is slow)."""
    data = text.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True).decode("ascii").replace("\n", CRLF)


def _base64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").replace("\n", CRLF)


def _attachment_part(item: Attachment) -> str:
    # An allow-list of types as themselves, the rest as octet-stream with a safe name (issue 15).
    forwarded_type, safe = forwarded_as(item.content_type, item.filename)
    maintype, _, subtype = forwarded_type.partition("/")
    name = _one_line(safe).replace('"', "'") or "attachment"
    if name.isascii():
        disposition = f'attachment; filename="{name}"'
        ctype = f'{maintype}/{subtype}; name="{name}"'
    else:  # RFC 2231
        disposition = f"attachment; filename*={encode_rfc2231(name, 'utf-8')}"
        ctype = f"{maintype}/{subtype}"
    head = [
        f"Content-Type: {ctype}",
        "Content-Transfer-Encoding: base64",
        f"Content-Disposition: {disposition}",
    ]
    return CRLF.join(head) + CRLF + CRLF + _base64(item.content)


def compose(
    identity: Identity,
    *,
    to: Address,
    subject: str,
    body: str,
    message_id: str,
    date: datetime,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    auto_submitted: str | None = "auto-replied",
    reply_to: str | None = None,
    language: str = "fi",
    attachments: tuple[Attachment, ...] = (),
) -> bytes:
    """Return one message in UTF-8 from the city's address, with *attachments* if any.

    Our automatic mail says so the RFC 3834 way: `auto-replied` for answers to a message (receipts),
    `auto-generated` for the rest (hand-overs, reminders); an answer a person wrote and we relay is
    neither. Automatic mail asks Exchange not to answer it (X-Auto-Response-Suppress); every message
    carries our signed loop header.

    Built by hand from the stdlib's C encoders: EmailMessage with a modern policy cost 2.5 ms a message
    and 6 ms with a photo, the largest single cost of intake (bench/RESULTS.md).
    """
    headers = [
        ("From", _mailbox(Address(identity.address, identity.name))),
        ("To", _mailbox(to)),
        ("Subject", _encoded(subject)),
        ("Date", format_datetime(date)),
        ("Message-ID", f"<{message_id}>"),
        ("Content-Language", language),
    ]
    if reply_to:
        headers.append(("Reply-To", reply_to))
    references = tuple(r for r in references if not r.endswith(SYNTHETIC_ID_DOMAIN))
    if in_reply_to and in_reply_to.endswith(SYNTHETIC_ID_DOMAIN):
        in_reply_to = references[-1] if references else None
    if in_reply_to:
        headers.append(("In-Reply-To", f"<{in_reply_to}>"))
        refs = [*[r for r in references if r != in_reply_to][-10:], in_reply_to]
        headers.append(("References", f"{CRLF} ".join(f"<{r}>" for r in refs)))
    if auto_submitted:
        headers.append(("Auto-Submitted", auto_submitted))
        headers.append(("X-Auto-Response-Suppress", "All"))
    if auto_submitted == "auto-replied":
        headers.append(("Precedence", "auto_reply"))
    headers.append((LOOP_HEADER, loop_marker(identity, message_id)))
    headers.append(("MIME-Version", "1.0"))
    text_head = f'Content-Type: text/plain; charset="utf-8"{CRLF}Content-Transfer-Encoding: quoted-printable'
    if not attachments:
        head = CRLF.join(f"{k}: {v}" for k, v in headers)
        return f"{head}{CRLF}{text_head}{CRLF}{CRLF}{_qp(body)}".encode()  # RFC 6532 addresses
    boundary = "=_gateway_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]
    headers.append(("Content-Type", f'multipart/mixed; boundary="{boundary}"'))
    parts = [f"{text_head}{CRLF}{CRLF}{_qp(body)}", *(_attachment_part(a) for a in attachments)]
    delimiter = f"{CRLF}--{boundary}{CRLF}"
    head = CRLF.join(f"{k}: {v}" for k, v in headers)
    preamble = "This is a MIME message."
    text = f"{head}{CRLF}{CRLF}{preamble}{delimiter}{delimiter.join(parts)}{CRLF}--{boundary}--{CRLF}"
    return text.encode()  # ASCII but for internationalised addresses (RFC 6532)
