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


def message_id_for(key: str, domain: str, secret: str) -> str:
    """A Message-ID derived from the outbox dedupe key: a retry after a crash yields the same mail.

    Its unguessable part is an HMAC of the key under a key derived from *secret*: a plain hash of the key
    (a tracking code and a fixed label) let anyone with a code compute our hand-over's Message-ID and
    quote it in a forged bounce (issue 15). Our mail coming back is still found by its outbox row
    (decision 0014), which holds the id."""
    digest = hmac.new(derive_key(secret, "message-id"), key.encode(), hashlib.sha256).hexdigest()[:32]
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


# RFC 5322 section 2.1.1: a line MUST be at most 998 characters and SHOULD be at most 78. Issue 15: a
# 1,100-character subject made a 1,156-character line, which a real relay refuses (the hand-over parked).
LINE_SHOULD = 78
LINE_MUST = 998
SUBJECT_ECHO = 200  # characters of someone else's subject we repeat (issue 15: 100 KB were echoed)
_LONG_WORD = 60  # an ASCII word longer than this goes into encoded words, which may break a word


def echo_subject(text: str, limit: int = SUBJECT_ECHO) -> str:
    """*text* as one line, cut to *limit* characters with an ellipsis: what we repeat of a subject."""
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _fold_words(words: list[str], first: int) -> str:
    """Join *words* with single spaces, folding (CRLF + space) before a word that would carry the line
    past 78 characters; *first* is what the line already holds ("Subject: ")."""
    lines: list[str] = []
    line: list[str] = []
    width = first
    for word in words:
        add = len(word) + (1 if line else 0)
        if line and width + add > LINE_SHOULD:
            lines.append(" ".join(line))
            line, width = [word], 1 + len(word)
        else:
            line.append(word)
            width += add
    lines.append(" ".join(line))
    return f"{CRLF} ".join(lines)


def _encoded(text: str, first: int = 10) -> str:
    """*text* as an unstructured header value (RFC 5322 3.2.5), folded to 78 characters a line: as it is
    when plain ASCII, else RFC 2047 base64 encoded words, each cut at a character boundary
    (email.header.Header took 1.3 ms for a long Finnish subject). Plain ASCII that looks like an encoded
    word, or holds a word too long to fold, is encoded as well: a reader would decode the one, and the
    other cannot be folded (whitespace between two encoded words is not text, RFC 2047 section 6.2)."""
    text = _one_line(text)
    words = text.split(" ")
    if text.isascii() and "=?" not in text and all(len(w) <= _LONG_WORD for w in words):
        return _fold_words(words, first)
    chunks: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in text:
        n = len(char.encode("utf-8"))
        if size + n > 45:  # 45 bytes -> 60 base64 characters: an encoded word of 72, under 76
            chunks.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += n
    chunks.append("".join(chunk))
    encoded = (f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in chunks)
    return f"{CRLF} ".join(encoded)


_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def _mailbox(a: Address) -> str:
    """`Name <address>`; the name encoded or quoted as needed, the address as it is (formataddr refuses
    internationalised addresses, RFC 6532)."""
    name = echo_subject(a.name, 100)
    if not name:
        return a.email
    long_quoted = _SPECIALS.search(name) is not None and len(name) > _LONG_WORD
    if not name.isascii() or "=?" in name or long_quoted or any(len(w) > _LONG_WORD for w in name.split()):
        name = _encoded(name)
    elif _SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        name = _fold_words(name.split(" "), 4)
    # The address on a line of its own when the name is long: an addr-spec cannot be folded.
    last = len(name.rpartition("\n")[2])
    return f"{name} <{a.email}>" if last + len(a.email) < LINE_SHOULD - 6 else f"{name}{CRLF} <{a.email}>"


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
    if len(name) > 100:  # a parameter is not folded here: keep the line short, and the extension
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:90]}.{ext[:8]}" if dot and stem and len(ext) <= 8 else name[:100]
    if name.isascii():
        disposition = f'attachment;{CRLF} filename="{name}"'
        ctype = f'{maintype}/{subtype};{CRLF} name="{name}"'
    else:  # RFC 2231
        disposition = f"attachment;{CRLF} filename*={encode_rfc2231(name, 'utf-8')}"
        ctype = f"{maintype}/{subtype}"
    head = [
        f"Content-Type: {ctype}",
        "Content-Transfer-Encoding: base64",
        f"Content-Disposition: {disposition}",
    ]
    return CRLF.join(head) + CRLF + CRLF + _base64(item.content)


def threadable(message_id: str) -> bool:
    """Whether we may name *message_id* in In-Reply-To and References: not one we made up (the parser's
    for mail without one, `@gateway.invalid`, and a web or console submission's, `@submission.invalid`:
    the reserved `.invalid` domain, RFC 2606), and short enough for a line of its own (a msg-id cannot
    be folded; a stranger's may be any length)."""
    return not message_id.endswith(".invalid") and len(message_id) <= _ID_MAX and message_id.isascii()


_ID_MAX = 250


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
        # A template holds at most SUBJECT_ECHO characters of a resident's subject; this bounds any other.
        ("Subject", _encoded(echo_subject(subject, 2 * SUBJECT_ECHO))),
        ("Date", format_datetime(date)),
        ("Message-ID", f"<{message_id}>"),
        ("Content-Language", language),
    ]
    if reply_to:
        headers.append(("Reply-To", reply_to))
    references = tuple(r for r in references if threadable(r))
    if in_reply_to and not threadable(in_reply_to):
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
