"""What an attachment is forwarded as: an allow-list of types as themselves, the rest as
application/octet-stream, under a safe name (issue 15: executables, SVG and HTML kept their types and
names, and a folded Content-Type reached our outgoing header)."""

from __future__ import annotations

import re
import unicodedata

OCTET_STREAM = "application/octet-stream"
# Types staff open every day and that carry no script of their own. Never text/html, image/svg+xml
# (scripts), message/rfc822 (RFC 2046 5.2.1 forbids base64 for it) or anything executable.
FORWARDED_AS_THEMSELVES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/heif",
        "application/pdf",
        "text/plain",
        "text/csv",
        "video/mp4",
        "video/quicktime",
        "audio/mpeg",
        "audio/mp4",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)
# Names that a double-click would run or render with scripts, whatever the type says.
_RISKY_EXTENSION = re.compile(
    r"\.(?:exe|com|bat|cmd|scr|pif|cpl|msi|msp|dll|sys|jar|js|jse|vbs|vbe|wsf|wsh|ps1|psm1|sh|bash|app"
    r"|lnk|url|reg|hta|html?|xhtml|xht|mht|mhtml|svgz?|xml|xsl|chm|iso|img|vhdx?|docm|xlsm|pptm|dotm"
    r"|xlam|ppam|one|appx|msix|apk|py|pl|rb|php|swf)$",
    re.I,
)
_TOKEN_TYPE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+/[a-z0-9!#$%&'*+.^_`|~-]+")  # RFC 2045 5.1 tokens


def forwarded_as(content_type: str, filename: str) -> tuple[str, str]:
    """The Content-Type and the file name an attachment is forwarded under."""
    ctype = content_type.strip().lower()
    if not _TOKEN_TYPE.fullmatch(ctype) or ctype not in FORWARDED_AS_THEMSELVES:
        ctype = OCTET_STREAM
    name = safe_name(filename)
    keep_eml = content_type.strip().lower() == "message/rfc822" and name.lower().endswith(".eml")
    if _RISKY_EXTENSION.search(name) or (ctype == OCTET_STREAM and not keep_eml):
        ctype = OCTET_STREAM
        if not name.lower().endswith(".bin"):
            name += ".bin"
    return ctype, name


def safe_name(filename: str) -> str:
    """No path, no control or format characters (CR, LF, NUL, bidi overrides), no leading dots, short."""
    base = re.split(r"[/\\]", filename)[-1]
    kept = "".join(c for c in base if unicodedata.category(c)[0] != "C" and c not in '"<>:|?*')
    kept = " ".join(kept.split()).lstrip(". ")
    if len(kept) > 120:
        stem, dot, ext = kept.rpartition(".")
        kept = (stem[:110] + dot + ext[:8]) if dot and len(ext) <= 8 else kept[:120]
    return kept or "attachment"
