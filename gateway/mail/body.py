"""The readable text and the attachments of a parsed message, walked part by part."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email.message import Message

from inscriptis import get_text

from gateway.mail import headers
from gateway.mail.charset import clean, decode_bytes
from gateway.model import Attachment

# Deeper nesting than this is an attack or a loop, not a client's format.
MAX_DEPTH = 30
# Issue 15, item 10: a 10,000-part mail became 10,000 forwarded attachments, and 470,000 parts took 15 s
# to parse. Past these we keep the raw message only and say how much was left out.
MAX_ATTACHMENTS = 20
MAX_MIME_PARTS = 1000


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """How much of one message is parsed and kept (the settings `max_attachments`, `max_mime_parts`)."""

    max_attachments: int = MAX_ATTACHMENTS  # attachments kept and forwarded; the rest only counted
    max_mime_parts: int = MAX_MIME_PARTS  # MIME parts parsed; the rest stays in the raw message only


DEFAULT_LIMITS = ParseLimits()


FORWARD_MARKER = "---------- Forwarded message ----------"

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "message/rfc822": ".eml",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
}
_HEADER_MESSAGE_ID = re.compile(r"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(\S+)", re.I | re.M)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Body:
    """What the MIME tree holds, flattened."""

    text: str  # all readable text; enclosed (forwarded) messages follow FORWARD_MARKER
    own_text: str  # the sender's own parts only: what reply_text is cut from
    attachments: tuple[Attachment, ...]
    enclosed_ids: tuple[str, ...]  # Message-IDs of enclosed messages and returned headers (bounces)
    has_delivery_status: bool
    too_deep: int = 0  # parts nested past MAX_DEPTH, not walked
    attachments_left_out: int = 0  # past MAX_ATTACHMENTS


@dataclass(slots=True)
class _Walk:
    """Private accumulator of one walk; never leaves this module."""

    texts: list[str] = field(default_factory=list)
    own: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    enclosed_ids: list[str] = field(default_factory=list)
    delivery_status: bool = False
    too_deep: int = 0
    left_out: int = 0
    max_attachments: int = MAX_ATTACHMENTS

    def keep(self, attachment: Attachment) -> None:
        if len(self.attachments) < self.max_attachments:
            self.attachments.append(attachment)
        else:
            self.left_out += 1


def extract(msg: Message, max_attachments: int = MAX_ATTACHMENTS) -> Body:
    """Flatten *msg* into its text and attachments. Never raises on a damaged part."""
    walk = _Walk(max_attachments=max_attachments)
    _visit(msg, walk, depth=0, own=True, want_text=True, keep_attachments=True)
    return Body(
        text=_join(walk.texts),
        own_text=_join(walk.own),
        attachments=tuple(walk.attachments),
        enclosed_ids=tuple(dict.fromkeys(walk.enclosed_ids)),
        has_delivery_status=walk.delivery_status,
        too_deep=walk.too_deep,
        attachments_left_out=walk.left_out,
    )


def content_type(part: Message) -> str:
    try:
        value = part.get_content_type()
    except Exception:  # a damaged Content-Type header must not stop the message
        return "text/plain"
    return clean(value).lower() if isinstance(value, str) else "text/plain"


def _visit(
    part: Message, walk: _Walk, *, depth: int, own: bool, want_text: bool, keep_attachments: bool
) -> None:
    if depth > MAX_DEPTH:
        walk.too_deep += 1  # normalise reads the text past here flat (gateway/mail/flat.py)
        return
    ctype = content_type(part)
    if ctype.startswith("multipart/"):
        children = _children(part)
        chosen = _preferred(children) if ctype == "multipart/alternative" else None
        for child in children:
            child_wants_text = want_text and (chosen is None or child is chosen)
            _visit(
                child,
                walk,
                depth=depth + 1,
                own=own,
                want_text=child_wants_text,
                keep_attachments=keep_attachments,
            )
    elif ctype in {"message/rfc822", "message/global"}:
        _visit_enclosed(part, walk, depth=depth, want_text=want_text, keep=keep_attachments)
    elif ctype == "message/delivery-status":
        walk.delivery_status = True
    elif ctype == "text/rfc822-headers":
        returned = decode_bytes(_payload(part), _charset(part))
        walk.enclosed_ids += [i for m in _HEADER_MESSAGE_ID.findall(returned) for i in headers.message_ids(m)]
    elif ctype in {"text/plain", "text/html"} and not _is_attachment(part):
        if want_text:
            body = _readable(part, ctype)
            walk.texts.append(body)
            if own:
                walk.own.append(body)
    elif keep_attachments:
        walk.keep(_attachment(part, ctype, len(walk.attachments) + 1))


def _visit_enclosed(part: Message, walk: _Walk, *, depth: int, want_text: bool, keep: bool) -> None:
    """A forwarded or returned message: kept as an .eml attachment, its id noted, and its text
    appended after a marker so staff can read it; it is never the sender's new text."""
    inner = _children(part)
    if not inner:
        if keep:
            walk.keep(_attachment(part, "message/rfc822", len(walk.attachments) + 1))
        return
    enclosed = inner[0]
    walk.enclosed_ids += headers.message_ids(headers.text(enclosed, "message-id"))
    if keep:
        walk.keep(_attachment(part, "message/rfc822", len(walk.attachments) + 1, _serialise(enclosed)))
    if want_text:
        lines = [FORWARD_MARKER]
        for name in ("From", "Date", "Subject", "To"):
            if value := headers.text(enclosed, name):
                lines.append(f"{name}: {value}")
        walk.texts.append("\n".join(lines))
        inner_walk = _Walk()
        _visit(enclosed, inner_walk, depth=depth + 1, own=False, want_text=True, keep_attachments=False)
        # Only the text: a bounce or message forwarded inside this one is not this message's own.
        walk.texts.extend(inner_walk.texts)
        walk.too_deep += inner_walk.too_deep


def _preferred(children: list[Message]) -> Message | None:
    """In multipart/alternative: plain text when it has words, else the last (richest) part."""
    for child in children:
        if content_type(child) == "text/plain" and _payload(child).strip():
            return child
    return children[-1] if children else None


def _children(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def _payload(part: Message) -> bytes:
    """The decoded bytes of a leaf part (base64 and quoted-printable undone, leniently)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def _charset(part: Message) -> str | None:
    try:
        value = part.get_content_charset()
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message) -> str:
    # compat32 turns raw 8-bit parameter bytes into U+FFFD; repair the bytes first, then let the
    # standard library undo RFC 2231 (filename*=utf-8''..., continuations) on a probe message.
    probe = Message()
    for header in ("content-disposition", "content-type"):
        if values := headers.raw_values(part, header):
            probe[header] = headers.repair(values[0])
    try:
        name = probe.get_filename()
    except Exception:
        name = None
    if not isinstance(name, str):
        return ""
    # Outlook writes RFC 2047 words inside the quoted parameter; the RFC forbids it, everyone does it.
    return headers.decode_value(name).replace("/", "_").replace("\\", "_")


def _is_attachment(part: Message) -> bool:
    return _disposition(part) == "attachment" or bool(_filename(part))


def _attachment(part: Message, ctype: str, number: int, content: bytes | None = None) -> Attachment:
    data = _payload(part) if content is None else content
    name = _filename(part) or f"attachment-{number}{_EXTENSIONS.get(ctype, '.bin')}"
    return Attachment(filename=name, content_type=ctype, size=len(data), content=data)


def _serialise(msg: Message) -> bytes:
    try:
        return msg.as_bytes()
    except Exception:  # the generator refolds headers and can trip over what the parser accepted
        return b""


def _readable(part: Message, ctype: str) -> str:
    decoded = decode_bytes(_payload(part), _charset(part))
    return html_to_text(decoded) if ctype == "text/html" else _tidy(decoded)


def html_to_text(markup: str) -> str:
    """HTML as readable text: inscriptis keeps paragraphs and tables; a tag strip if it fails."""
    try:
        converted = str(get_text(markup))
    except Exception:  # lxml refuses some documents (e.g. an encoding declaration in a str)
        converted = html.unescape(_TAG.sub(" ", markup))
    return _tidy(converted)


def _tidy(value: str) -> str:
    lines = [line.rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    joined = "\n".join(lines)
    # str.replace in a loop, not re.sub(r"\n{3,}"): the regex scans 20 KB in 0.25 ms, this in µs.
    while "\n\n\n" in joined:
        joined = joined.replace("\n\n\n", "\n\n")
    return clean(joined.strip("\n"))


def _join(texts: list[str]) -> str:
    return "\n\n".join(t for t in texts if t.strip())
