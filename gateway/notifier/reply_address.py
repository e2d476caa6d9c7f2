"""Signed per-case reply addresses (`palaute+<code>.<token>@hel.example`): unforgeable without the key."""

from __future__ import annotations

import base64
import hashlib
import hmac

from gateway.tracking import normalise

TOKEN_LENGTH = 16  # 80 bits of HMAC-SHA256: not guessable, short enough for a mail program's address field


def _token(code: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), code.upper().encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:TOKEN_LENGTH]


def reply_address(base: str, code: str, secret: str) -> str:
    """The address staff answer a case through, built on the city's own address *base*."""
    local, _, domain = base.partition("@")
    return f"{local}+{code.lower()}.{_token(code, secret)}@{domain}"


def verified_code(address: str, secret: str, prefix: str = "HEL") -> str | None:
    """The case code of a signed reply address, or None when the token is missing or wrong."""
    local = address.lower().partition("@")[0]
    _, plus, detail = local.partition("+")
    code_part, dot, token = detail.rpartition(".")
    if not plus or not dot:
        return None
    code = normalise(code_part, prefix)
    if code is None or not _same(token, _token(code, secret)):
        return None
    return code


def _same(given: str, expected: str) -> bool:
    """Constant-time compare of bytes: compare_digest raises TypeError on a non-ASCII str (issue 15),
    and a token with non-ASCII characters is simply wrong."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())
