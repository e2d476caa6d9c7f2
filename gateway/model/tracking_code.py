"""Tracking codes: HEL-XXXX-XXXX in Crockford base32, random, case-insensitive, printed upper-case."""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Crockford's decoding aliases: O reads as 0, I and L as 1.
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code(prefix: str = "HEL") -> str:
    """Return a fresh random code: 40 bits of randomness, not guessable (DESIGN.md).

    One read of the system's randomness, cut into eight 5-bit characters (a `secrets.choice` per
    character read it eight times: 2% of intake's CPU)."""
    bits = int.from_bytes(secrets.token_bytes(5), "big")
    chars = "".join(ALPHABET[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"{prefix.upper()}-{chars[:4]}-{chars[4:]}"


def code_pattern(prefix: str = "HEL") -> re.Pattern[str]:
    """A pattern that finds a code inside text or an address, case-insensitively."""
    chars = "0-9A-HJKMNP-TV-Z"
    return re.compile(
        rf"(?<![0-9A-Z]){re.escape(prefix)}-([{chars}]{{4}})-([{chars}]{{4}})(?![0-9A-Z])",
        re.IGNORECASE,
    )


def find_code(text: str, prefix: str = "HEL") -> str | None:
    """Return the first tracking code in *text*, normalised to upper case, or None."""
    m = code_pattern(prefix).search(text)
    if m is None:
        return None
    return f"{prefix.upper()}-{m.group(1).upper()}-{m.group(2).upper()}"


def normalise(code: str, prefix: str = "HEL") -> str | None:
    """Return *code* in its printed form (upper case, Crockford aliases folded), or None if it is not one."""
    text = code.strip().upper()
    head = prefix.upper() + "-"
    if not text.startswith(head):
        return None
    m = code_pattern(prefix).fullmatch(head + text[len(head) :].translate(_ALIASES))
    return None if m is None else f"{head}{m.group(1)}-{m.group(2)}"
