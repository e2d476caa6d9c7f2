"""Signed per-case reply addresses (`palaute+<code>.<token>@hel.example`): unforgeable without the key.

The token is bound to the case *and* the department it was handed to (issue 15): a reroute hands the
case over with a new token, and the old department's reply address no longer counts as an answer. The
key is not `reply_secret` itself but one derived from it for this purpose only (`derive_key`), so that a
loop mark or another signature of ours never doubles as a reply token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from gateway.model.tracking_code import normalise

TOKEN_LENGTH = 16  # 80 bits of HMAC-SHA256: not guessable, short enough for a mail program's address field
REPLY_TOKEN_LABEL = "reply-token"
LOOP_MARK_LABEL = "loop-mark"


def derive_key(secret: str, label: str) -> bytes:
    """A key for one purpose, derived from the master *secret* (HMAC-SHA256 with a label, the extract-free
    HKDF-Expand of RFC 5869 for one output block): keys of different labels are independent."""
    return hmac.new(secret.encode(), b"gateway/v1/" + label.encode() + b"\x01", hashlib.sha256).digest()


def _token(code: str, department: str, secret: str) -> str:
    message = f"{code.upper()}\x00{department.lower()}".encode()
    mac = hmac.new(derive_key(secret, REPLY_TOKEN_LABEL), message, hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:TOKEN_LENGTH]


def reply_address(base: str, code: str, department: str, secret: str) -> str:
    """The address the staff of *department* answer a case through, built on the city's address *base*."""
    local, _, domain = base.partition("@")
    return f"{local}+{code.lower()}.{_token(code, department, secret)}@{domain}"


def reply_parts(address: str, prefix: str = "HEL") -> tuple[str, str] | None:
    """The case code and the token of something shaped like a reply address, unchecked; or None."""
    local = address.lower().partition("@")[0]
    _, plus, detail = local.partition("+")
    code_part, dot, token = detail.rpartition(".")
    if not plus or not dot:
        return None
    code = normalise(code_part, prefix)
    return None if code is None else (code, token)


def token_matches(token: str, code: str, department: str, secret: str) -> bool:
    """Whether *token* signs *code* for *department*. Compared as bytes: compare_digest raises on
    non-ASCII str, and a stranger's token may be anything."""
    return hmac.compare_digest(token.encode("utf-8", "replace"), _token(code, department, secret).encode())


def verified_code(address: str, department: str, secret: str, prefix: str = "HEL") -> str | None:
    """The case code of a reply address signed for *department*, or None when the token is missing or
    wrong."""
    parts = reply_parts(address, prefix)
    if parts is None or not token_matches(parts[1], parts[0], department, secret):
        return None
    return parts[0]
