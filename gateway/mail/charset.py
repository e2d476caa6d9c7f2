"""Bytes of declared, unknown or lying charset turned into clean text: no lone surrogates, no NUL."""

from __future__ import annotations

import codecs
import re

# Lone surrogates, which PostgreSQL (and any UTF-8 encoder) refuses.
_SURROGATE = re.compile("[\ud800-\udfff]")
# The escapes that surrogateescape leaves for undecodable bytes: these we can turn back into bytes.
_ESCAPED_RUN = re.compile("[\udc80-\udcff]+")

# Labels that say nothing: mail clients write us-ascii over 8-bit bodies all the time.
_NO_INFORMATION = frozenset({"ascii", "us-ascii", "unknown-8bit", "x-unknown", "8bit", "binary"})
# Codecs that are not text encodings of mail, or that could smuggle anything through.
_REFUSED = frozenset({"idna", "punycode", "raw_unicode_escape", "unicode_escape", "undefined"})
# Single-byte Western labels: valid UTF-8 under one of these means the label lies (real mail does).
_SINGLE_BYTE_WESTERN = frozenset({"latin_1", "iso8859-1", "iso8859-15", "cp1252", "iso8859-9"})


def codec_for(label: str | None) -> str | None:
    """Return Python's codec name for a MIME charset *label*, or None when it is unknown or useless."""
    if not label:
        return None
    # RFC 2231 lets an encoded word carry a language: =?utf-8*fi?q?...?=
    label = label.split("*", 1)[0].strip().strip("\"'").lower()
    if not label or label in _NO_INFORMATION or not label.isascii():
        return None
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    # base64_codec, zlib_codec, rot13 ... are bytes-to-bytes or str-to-str: not a charset.
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    # ISO-8859-1 in mail is windows-1252 in practice (WHATWG does the same): 0x80-0x9F are quotes
    # and the euro sign, never C1 controls.
    return "cp1252" if info.name in {"latin_1", "iso8859-1"} else info.name


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Decode *data*: the declared charset, then UTF-8, then windows-1252, then Latin-1. Never raises."""
    if data.isascii():
        return clean(data.decode("ascii"))
    codec = codec_for(label)
    candidates: list[str] = []
    if codec is not None and not (codec in _SINGLE_BYTE_WESTERN and _is_utf8(data)):
        candidates.append(codec)
    candidates += ["utf-8", "cp1252"]
    for name in candidates:
        try:
            return clean(data.decode(name))
        except Exception:  # a codec may raise anything on hostile bytes
            continue
    return clean(data.decode("latin-1"))


def clean(text: str) -> str:
    """Return *text* without NUL and lone surrogates; surrogate-escaped bytes are decoded again."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")  # C speed; fails exactly when a surrogate is present
    except UnicodeEncodeError:
        pass
    else:
        return text
    text = _ESCAPED_RUN.sub(_redecode, text)
    return _SURROGATE.sub("\ufffd", text)


def _redecode(match: re.Match[str]) -> str:
    raw = match.group().encode("utf-8", "surrogateescape")
    for name in ("utf-8", "cp1252"):
        try:
            return raw.decode(name).replace("\x00", "")
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
