"""What every response of the web front carries and what every request must pass: security headers, a
bound on the body, and the signed form token that proves a form was shown by us a while ago (issue 17)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere: the pages work without JavaScript, and a resident's text shown in
# a page cannot run even if escaping failed somewhere (defence in depth).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # a tracking code in the address never leaks to another site
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(self)",
}


class SecurityHeaders:
    """Adds `HEADERS` to every HTTP response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(Exception):
    """A request body over the limit: answered 413 by the app's handler."""


class BodyLimit:
    """Refuses a body over *max_bytes*: at once by its Content-Length, else while it streams in, so that
    a client cannot make us hold more than that in memory (issue 17: bounded bodies)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                raise BodyTooLarge(int(value))
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(seen)
            return message

        await self.app(scope, counted, send)


# -- the form token --------------------------------------------------------------------------------------

_TOKEN = struct.Struct(">d12s16s")  # issued at (unix seconds), nonce, MAC


class TokenProblem(ValueError):
    """Why a form token is refused: 'forged' (not ours or altered), 'too-fast', 'expired'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def issue_token(key: bytes, now: datetime) -> str:
    """A token for a form shown at *now*: when, a random nonce, and our MAC over both."""
    issued, nonce = now.timestamp(), secrets.token_bytes(12)
    mac = _mac(key, issued, nonce)
    return base64.urlsafe_b64encode(_TOKEN.pack(issued, nonce, mac)).decode().rstrip("=")


def check_token(token: str, key: bytes, now: datetime, min_seconds: float, max_seconds: float) -> str:
    """The token's nonce (the form's idempotency key) if it is ours, at least *min_seconds* old and at
    most *max_seconds*; else TokenProblem. A robot posts at once; a person takes a few seconds."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        issued, nonce, mac = _TOKEN.unpack(raw)
    except (ValueError, struct.error):
        raise TokenProblem("forged") from None
    if not hmac.compare_digest(mac, _mac(key, issued, nonce)):
        raise TokenProblem("forged")
    age = now.timestamp() - issued
    if age < min_seconds:
        raise TokenProblem("too-fast")
    if age > max_seconds:
        raise TokenProblem("expired")
    return str(nonce.hex())


def _mac(key: bytes, issued: float, nonce: bytes) -> bytes:
    return hmac.new(key, b"form\x00" + struct.pack(">d", issued) + nonce, hashlib.sha256).digest()[:16]


def link_mac(key: bytes, code: str) -> str:
    """A short MAC of *code* for the answer page's link: only who sent the form is told "your code is"."""
    return hmac.new(key, b"sent\x00" + code.encode(), hashlib.sha256).hexdigest()[:20]
