"""Header values read safely: RFC 2047 encoded words, raw 8-bit bytes, addresses, Message-IDs, dates.

We read the raw header text that BytesParser stored and decode it ourselves rather than through
policy.default's header objects: those turn raw Latin-1 into U+FFFD, fall back to ASCII for unknown
charsets, can raise on malformed input, and cost more than the rest of parsing together
(docs/decisions/0002-mail-parsing.md).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from functools import partial

from gateway.mail.charset import clean, decode_bytes
from gateway.model import Address

# RFC 2047 section 2; the encoded text may not hold whitespace or '?'.
_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_SPACES = re.compile(r"\s+")
_BRACKETED_ID = re.compile(r"<([^<>\s]+)>")
_LOOSE_ADDRESS = re.compile(r"[^\s<>,;:\"'()\[\]]+@[^\s<>,;:\"'()\[\]]+")
_NON_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_ENCODED_WORD_TEXT = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_HIDDEN_WORD = re.compile(r"gwencw(\d+)x")
# RFC 5322 3.4.1 addr-spec, as we are willing to write to it: a dot-atom (or quoted-string without
# controls) local part, and a host name of letter-digit-hyphen labels (RFC 5321 4.1.2; UTF-8 letters
# allowed for RFC 6531). Anything else, like "_victim@evil.example=0d=0ax-injected", gets no mail.
_ATEXT = r"[\w!#$%&'*+/=?^`{|}~-]"
_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
_ADDR_SPEC = re.compile(
    rf"(?:{_ATEXT}+(?:\.{_ATEXT}+)*|\"(?:[^\"\\\x00-\x1f\x7f]|\\[^\x00-\x1f\x7f])*\")"
    rf"@{_LABEL}(?:\.{_LABEL})+"
)


def raw_values(msg: Message, name: str) -> list[str]:
    """Every raw value of header *name*, as the parser stored it (surrogate-escaped 8-bit bytes)."""
    wanted = name.lower()
    try:
        return [str(value) for key, value in msg.raw_items() if key.lower() == wanted]
    except Exception:  # a damaged header list must not stop the message
        return []


def has_header(msg: Message, name: str) -> bool:
    return bool(raw_values(msg, name))


def text(msg: Message, name: str) -> str:
    """The first value of header *name* as readable one-line text, "" when it is missing."""
    values = raw_values(msg, name)
    return decode_value(values[0]) if values else ""


def decode_value(raw: str) -> str:
    """Unfold *raw*, decode raw 8-bit bytes and RFC 2047 words, and collapse whitespace."""
    unfolded = _FOLD.sub("", raw)
    return _SPACES.sub(" ", decode_words(_to_bytes(unfolded))).strip()


def repair(raw: str) -> str:
    """Unfold *raw* and decode its raw 8-bit bytes, leaving encoded words and parameters as they are."""
    return decode_bytes(_to_bytes(_FOLD.sub("", raw)))


def decode_words(raw: bytes) -> str:
    """Decode RFC 2047 encoded words mixed with raw bytes; adjacent words of one charset are joined
    before decoding, so a character split across two words survives. Never raises."""
    pieces: list[tuple[bytes, str | None]] = []
    position = 0
    previous_was_word = False
    for match in _ENCODED_WORD.finditer(raw):
        between = raw[position : match.start()]
        # Whitespace between two encoded words is not part of the text (RFC 2047 section 6.2).
        if between and not (previous_was_word and not between.strip()):
            pieces.append((between, None))
        charset = match.group(1).decode("ascii", "replace").lower()
        data = _decode_word(match.group(2).upper(), match.group(3))
        if pieces and pieces[-1][1] == charset and previous_was_word and not between.strip():
            pieces[-1] = (pieces[-1][0] + data, charset)
        else:
            pieces.append((data, charset))
        position = match.end()
        previous_was_word = True
    if position < len(raw):
        pieces.append((raw[position:], None))
    return clean("".join(decode_bytes(data, charset) for data, charset in pieces))


def _decode_word(encoding: bytes, data: bytes) -> bytes:
    try:
        if encoding == b"Q":
            return binascii.a2b_qp(data, header=True)
        data = _NON_BASE64.sub(b"", data)
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return data


def _to_bytes(value: str) -> bytes:
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")


def addresses(msg: Message, name: str) -> tuple[Address, ...]:
    """The addresses of every *name* header: lower-case addr-spec, decoded display name."""
    found: list[Address] = []
    for raw in raw_values(msg, name):
        # Repair 8-bit bytes first but keep encoded words encoded, so a comma inside one cannot split it.
        unfolded = repair(raw)
        # An encoded word is one atom of a display name (RFC 2047 section 5): hidden behind a plain atom
        # while the address is parsed, a ":" or "@" it decodes to cannot make a group or an address
        # (issue 15: "=?utf-8?q?Evil=0D=0ABcc:_victim@evil.example?= <inj@example.fi>").
        words: list[str] = []
        hidden = _ENCODED_WORD_TEXT.sub(partial(_hide, words), unfolded)
        try:
            pairs = getaddresses([hidden])
        except Exception:  # getaddresses has raised on hostile input in some Python releases
            pairs = [("", m) for m in _LOOSE_ADDRESS.findall(hidden)]
        for display, spec in pairs:
            email = clean(_unhide(words, spec)).strip().lower()
            if "@" not in email:
                continue
            name = decode_words(_to_bytes(_unhide(words, display)))
            found.append(Address(email, _SPACES.sub(" ", name).strip()))
    return tuple(found)


def is_addr_spec(address: str) -> bool:
    """Whether *address* is an addr-spec we may put in RCPT TO and a To header (no controls, no spaces)."""
    return len(address) <= 254 and _ADDR_SPEC.fullmatch(address) is not None


def _hide(words: list[str], match: re.Match[str]) -> str:
    words.append(match.group(0))
    return f"gwencw{len(words) - 1}x"


def _unhide(words: list[str], value: str) -> str:
    if not words:
        return value
    return _HIDDEN_WORD.sub(lambda m: words[int(m.group(1))] if int(m.group(1)) < len(words) else "", value)


def message_ids(value: str) -> tuple[str, ...]:
    """Message-IDs in a header value, without angle brackets; a lone bare id is accepted too."""
    ids = _BRACKETED_ID.findall(value)
    if ids:
        return tuple(ids)
    bare = value.strip().strip("<>")
    return (bare,) if bare and not any(c.isspace() for c in bare) else ()


def parse_date(value: str) -> datetime | None:
    """The Date header as an aware UTC datetime; None when missing or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:  # "-0000" means UTC with no claim about local time (RFC 5322 3.3)
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except Exception:  # ValueError, TypeError, IndexError, OverflowError on odd dates
        return None
