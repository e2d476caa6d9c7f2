"""Commands a handler writes in a reply, read from its first line: `#reroute DEPARTMENT why`."""

from __future__ import annotations

import re

# "#reroute kirjaamo", "#siirrä kirjaamo", "#flytta kirjaamo" on the first line; the rest says why.
REROUTE = re.compile(r"^#(?:reroute|siirr[äa]|flytta)\s+([\w.-]+)[ \t]*(.*)$", re.IGNORECASE)


def reroute_command(text: str) -> tuple[str, str] | None:
    """The department and the reason of a reroute command on the first non-empty line, or None."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines:
        return None
    m = REROUTE.match(lines[0])
    if m is None:
        return None
    why = " ".join(part for part in (m.group(2), *lines[1:]) if part).strip()
    return m.group(1).lower(), why
