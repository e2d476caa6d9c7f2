"""The master key of our signatures (`reply_secret`): refused when weak, generated for the embedded default.

Issue 15: with the published default "change-me" a stranger forged a staff answer. A deployment must
set a secret of its own of at least 32 bytes; "change-me", anything shorter and an empty one are
refused at start. The one exception is the local embedded default (`make run` with no set-up, SQLite):
there an empty `reply_secret` means "generate one": 32 random bytes written once to `reply_secret`
beside the database file (mode 0600) and read back on every later start, so that reply addresses stay
valid across restarts. PostgreSQL means several nodes, which must share one key: there it must be set.
See docs/decisions/0021a-staff-reply-secret.md.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import time
from pathlib import Path

from gateway.errors import SettingsError
from gateway.settings import Settings

MIN_SECRET_BYTES = 32
PUBLISHED_DEFAULTS = frozenset({"change-me", "changeme", "secret", "test-secret"})
SECRET_FILE = "reply_secret"


def weakness(secret: str) -> str | None:
    """Why *secret* must not sign anything, or None when it may."""
    if not secret:
        return "reply_secret is empty"
    if secret.strip().lower() in PUBLISHED_DEFAULTS:
        return f"reply_secret is the published default {secret!r}"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"reply_secret is {len(secret.encode())} bytes; it must be at least {MIN_SECRET_BYTES}"
    return None


def check_reply_secret(secret: str) -> None:
    """Refuse to run with a weak secret (raises SettingsError)."""
    why = weakness(secret)
    if why is not None:
        raise SettingsError(
            f"{why}: set GATEWAY_REPLY_SECRET to a random value of {MIN_SECRET_BYTES} bytes or more "
            "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )


def secret_file(settings: Settings) -> Path | None:
    """Where the embedded default keeps its generated secret: beside the SQLite file; None elsewhere."""
    if not settings.is_sqlite:
        return None
    path = settings.database_url.partition(":///")[2]
    if not path or path == ":memory:":
        return Path("var") / SECRET_FILE
    return Path(path).parent / SECRET_FILE


def resolve_reply_secret(settings: Settings) -> Settings:
    """*settings* with a usable `reply_secret`: the one set, checked, or the embedded default's own."""
    if settings.reply_secret:
        check_reply_secret(settings.reply_secret)
        return settings
    path = secret_file(settings)
    if path is None:
        raise SettingsError(
            "reply_secret is empty: on PostgreSQL every node must share one secret; set GATEWAY_REPLY_SECRET"
        )
    return dataclasses.replace(settings, reply_secret=_read_or_create(path))


def _read_or_create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_urlsafe(48)
    try:  # O_EXCL: of two processes starting at once, one writes and both read the same key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(fresh + "\n")
            out.flush()
            os.fsync(out.fileno())
    secret = ""
    for _ in range(40):  # another process may be between its O_EXCL create and its write
        try:
            secret = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: {exc}") from None
        if secret:
            break
        time.sleep(0.05)
    if path.stat().st_mode & 0o077:
        raise SettingsError(f"{path}: readable by others; chmod 600 it")
    check_reply_secret(secret)
    return secret
