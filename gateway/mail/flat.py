"""Text parts found without walking the MIME tree: for mail nested past the parser's depth limit, or
that the parser gave up on (issue 15, item 3). Flat and iterative, so no depth can make it recurse;
only leaf text parts are read, never a header block or a boundary line as the resident's words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy

from gateway.mail.charset import decode_bytes

# A boundary line (RFC 2046 5.1.1): "--" and 1-70 characters; every part starts after one.
_BOUNDARY_LINE = re.compile(rb"^--[^\r\n]{1,70}\r?$", re.M)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True, slots=True)
class FlatText:
    texts: tuple[str, ...]
    parts: int  # every part seen
    skipped: int  # parts that are not readable text (nested containers, attachments)


def boundary_offsets(raw: bytes, limit: int) -> tuple[list[int], int]:
    """The offsets of the first *limit* boundary lines, and how many there are in all."""
    offsets: list[int] = []
    total = 0
    for match in _BOUNDARY_LINE.finditer(raw):
        total += 1
        if len(offsets) < limit:
            offsets.append(match.start())
    return offsets, total


def text_parts(raw: bytes, limit: int) -> FlatText:
    """The readable leaf text parts of *raw*, in order, reading at most *limit* parts."""
    offsets, total = boundary_offsets(raw, limit + 1)
    texts: list[str] = []
    parts = 0
    for start, end in zip(offsets, [*offsets[1:], len(raw)], strict=False):
        chunk = raw[start:end].split(b"\n", 1)[1] if b"\n" in raw[start:end] else b""
        if not chunk.strip() or not _HEADER_END.search(chunk):
            continue
        part = message_from_bytes(chunk, policy=policy.compat32)
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):  # a container: its children follow as chunks of their own
            continue
        parts += 1
        disposition = part.get_content_disposition()
        if ctype != "text/plain" or disposition == "attachment" or part.get_filename():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and (text := decode_bytes(payload, part.get_content_charset())):
            texts.append(text.strip())
    return FlatText(tuple(t for t in texts if t), parts, parts - len(texts) + max(0, total - len(offsets)))
