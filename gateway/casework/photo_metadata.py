"""Whether a stored photo may go public as it is (issue 18): a JPEG, PNG or WebP whose container holds
pixels and nothing else — no EXIF (with its GPS position and camera), XMP, IPTC, ICC profile, comment or
text chunk, and no bytes after the image's end.

The copies intake made of a submission's photos (`gateway/submission/photos.py`, `clean`) pass; a photo
that came by mail is stored as it came and usually fails, and is then not offered for publishing. The
check walks the container's segments and chunks by their lengths and decodes no pixel, so it costs a web
request nothing whatever the bytes are (decoding is for parser processes). It goes by allow-lists: a
segment or chunk it does not know is metadata until shown otherwise.
"""

from __future__ import annotations

import struct

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"

# JPEG markers that carry image data or its tables: SOF0-15 but DHT (C4), JPG (C8) and DAC (CC) are
# frames; DHT, DAC, DQT, DRI, DNL, EXP. Every APPn but a plain JFIF APP0, COM, and anything else, is not.
_JPEG_TABLES = {0xC4, 0xCC, 0xDB, 0xDD, 0xDC, 0xDF}
_JPEG_FRAMES = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_IN_SCAN = {0x00, *range(0xD0, 0xD8), 0xFF}  # after 0xFF inside a scan: a stuffed 0, RSTn, fill
_JFIF = b"JFIF\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pixels, palette, transparency and how to show them; tEXt, zTXt, iTXt, eXIf, iCCP, tIME and the rest
# are not among them.
_PNG_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD",
               b"pHYs"}  # fmt: skip
_WEBP_CHUNKS = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}  # not EXIF, XMP , ICCP, ANIM, ANMF
_VP8X_METADATA = 0x20 | 0x08 | 0x04  # the ICC, EXIF and XMP flags


def bare_type(data: bytes) -> str | None:
    """The content type of *data* when it is a JPEG, PNG or WebP without metadata, else None."""
    try:
        if data.startswith(b"\xff\xd8"):
            return JPEG if _bare_jpeg(data) else None
        if data.startswith(_PNG_SIGNATURE):
            return PNG if _bare_png(data) else None
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return WEBP if _bare_webp(data) else None
    except (IndexError, struct.error):  # a length that points past the end
        return None
    return None


def _bare_jpeg(data: bytes) -> bool:
    at, frames = 2, 0
    while at < len(data):
        if data[at] != 0xFF:
            return False
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        if marker == 0xD9:  # EOI: nothing may follow
            return frames > 0 and at + 2 == len(data)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # RSTn and TEM stand alone
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if length < 2 or at + 2 + length > len(data):
            return False
        body = data[at + 4 : at + 2 + length]
        if marker in _JPEG_FRAMES:
            frames += 1
        elif marker == 0xE0:
            if not body.startswith(_JFIF) or len(body) != 14:  # a JFIF header without a thumbnail
                return False
        elif marker != 0xDA and marker not in _JPEG_TABLES:
            return False
        at += 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not a stuffed 0 or RSTn
            while at < len(data) - 1 and not (data[at] == 0xFF and data[at + 1] not in _IN_SCAN):
                at += 1
            if at >= len(data) - 1:
                return False
    return False  # no EOI


def _bare_png(data: bytes) -> bool:
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        if kind not in _PNG_CHUNKS:
            return False
        at += 12 + length  # length, type, data, CRC
        if kind == b"IEND":
            return at == len(data)
    return False  # no IEND


def _bare_webp(data: bytes) -> bool:
    (size,) = struct.unpack("<I", data[4:8])
    if size + 8 != len(data):
        return False
    at, frames = 12, 0
    while at + 8 <= len(data):
        kind, length = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        if kind not in _WEBP_CHUNKS or at + 8 + length > len(data):
            return False
        if kind == b"VP8X" and data[at + 8] & _VP8X_METADATA:
            return False
        frames += kind in (b"VP8 ", b"VP8L")
        at += 8 + length + (length & 1)  # chunks are padded to an even length
    return at == len(data) and frames == 1
