"""The newly written part of a message: quoted replies, forwarded blocks and signatures cut away.

We tried mail-parser-reply 1.36 first and wrote this instead (docs/decisions/0002-mail-parsing.md):
extending it needs a private-method override, a message that is all quote came back as the quote,
and its signature rules cut a resident's "- pothole on ..." list after the first line.
"""

from __future__ import annotations

import re

# A line that ends an attribution: "On ... wrote:", "ma 3.2.2025 klo 10.12 Matti <m@x> kirjoitti:",
# and Thunderbird's "Den 2025-02-04 kl. 09:30, skrev Anna:" / "Matti kirjoitti 3.2.2025 klo 10.12:".
_ATTRIBUTION_END = re.compile(r"\b(?:wrote|kirjoitti|skrev|schrieb|a écrit)\b[^\n]{0,100}:\s*$", re.I)
# How an attribution that a client wrapped over two lines begins.
_ATTRIBUTION_START = re.compile(
    r"^(?:On|Den|Am|Le|El)\s"
    r"|^(?:ma|ti|ke|to|pe|la|su|mån|tis|ons|tors|fre|lör|sön)\w*\.?\s+\d"
    r"|^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}",
    re.I,
)
# Outlook's header block, in the three languages of the city (and German, which Outlook also ships).
_FROM_LABEL = re.compile(r"^\**\s*(?:From|Från|Lähettäjä|Von)\s*:", re.I)
_OTHER_LABEL = re.compile(
    r"^\**\s*(?:Sent|Date|To|Subject|Cc|Skickat|Datum|Till|Ämne|Kopia|"
    r"Lähetetty|Päivämäärä|Vastaanottaja|Aihe|Kopio|Gesendet|An|Betreff)\s*:",
    re.I,
)
_SEPARATOR = re.compile(
    r"^-{2,}\s*(?:Original Message|Forwarded message|Ursprungligt meddelande|"
    r"Vidarebefordrat meddelande|Alkuperäinen viesti|Välitetty viesti|Edelleenlähetetty viesti)"
    r"\s*-{2,}\s*$"
    r"|^Begin forwarded message:\s*$|^Vidarebefordrat brev:\s*$|^Välitetty viesti alkaa:\s*$",
    re.I,
)
# Signatures that phones and mail apps add; everything from here on is not the sender's words.
_DEVICE_SIGNATURE = re.compile(
    r"^(?:Sent from my\b|Sent from (?:Mail|Outlook)\b|Get Outlook for\b"
    r"|Lähetetty (?:iPhonesta|iPadista|Android|Samsung|Outlook|Windowsin|.*puhelimesta|.*laitteesta)"
    r"|Hanki Outlook\b|Skickat från min\b|Skickat från (?:Outlook|E-post)\b|Hämta Outlook\b)",
    re.I,
)
_SIGNATURE_DASHES = re.compile(r"^--\s?$")
_RULE = re.compile(r"^\s*(?:_{5,}|-{5,}|={5,})\s*$")
_QUOTED = re.compile(r"^\s*>")


def strip_reply(text: str) -> str:
    """Return only what the sender newly wrote in *text*: no quotes, no quote header, no signature."""
    # str.splitlines: every line boundary Python knows (also \x1c-\x1e, \x85, U+2028), so that a quote
    # after one of them is seen as the quoted line it is wherever the text is split into lines later.
    lines = text.splitlines()
    kept = lines[: _cut(lines)]
    kept = [line.rstrip() for line in kept if not _QUOTED.match(line)]
    while kept and (not kept[-1].strip() or _RULE.match(kept[-1])):
        kept.pop()
    return "\n".join(kept).strip()


def _cut(lines: list[str]) -> int:
    """The index of the first line that is no longer the sender's new text."""
    for i, line in enumerate(lines):
        bare = line.strip()
        if _SIGNATURE_DASHES.match(line) or _SEPARATOR.match(bare) or _DEVICE_SIGNATURE.match(bare):
            return i
        # The endswith test first: the pattern is slow on a long line, and a paragraph converted
        # from HTML can be one 20 KB line.
        if bare.endswith(":") and _ATTRIBUTION_END.search(bare[-300:]) and not _QUOTED.match(line):
            start = _attribution_start(lines, i)
            if start is not None:
                return start
        if _FROM_LABEL.match(bare) and _is_header_block(lines, i):
            return i
    return len(lines)


def _attribution_start(lines: list[str], i: int) -> int | None:
    """Where the attribution ending on line *i* begins, or None if the line is ordinary prose."""
    bare = lines[i].strip()
    if _ATTRIBUTION_START.match(bare):
        return i
    # Gmail and Outlook wrap a long attribution; its start sits on the previous line.
    if i > 0 and _ATTRIBUTION_START.match(lines[i - 1].strip()):
        return i - 1
    # "Matti Meikäläinen <matti@example.fi> kirjoitti 3.2.2025 10.12:" - an address or a date
    # marks a client's attribution; "Naapurini kirjoitti:" is the resident's own prose.
    return i if "@" in bare or re.search(r"\d", bare) else None


def _is_header_block(lines: list[str], i: int) -> bool:
    """A From: line opens a quote header only when another header label follows within four lines."""
    following = (line.strip() for line in lines[i + 1 : i + 5])
    return any(_OTHER_LABEL.match(line) for line in following if line)
