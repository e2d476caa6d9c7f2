"""Settings of the IMAP mailboxes the gateway reads: one `[[mailboxes]]` table each, checked at load."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from gateway.errors import SettingsError


class Tls(StrEnum):
    IMPLICIT = "tls"  # TLS from the first byte (port 993)
    STARTTLS = "starttls"  # plain connect, then STARTTLS before LOGIN (port 143)
    NONE = "none"  # only for a server on the same host or in tests


N = TypeVar("N", int, float)

DEFAULT_PORTS = {Tls.IMPLICIT: 993, Tls.STARTTLS: 143, Tls.NONE: 143}


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    """One mailbox: where it is, how to log in, which folder to read and where read mail goes.

    The timings have production defaults; tests shorten them. IDLE is restarted after *idle_seconds*,
    well before the 29 minutes after which RFC 2177 lets a server drop an idle client.
    """

    name: str  # the key of the mailbox's row in the database (lease, UIDVALIDITY, last UID); keep it stable
    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    tls: Tls = Tls.IMPLICIT
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    address: str = ""  # the recipient recorded when the mail carries no Delivered-To / X-Original-To
    idle: bool = True  # use IDLE where the server offers it; False polls every poll_seconds
    poll_seconds: float = 60.0
    idle_seconds: float = 600.0
    timeout: float = 30.0  # connect and read timeout of the socket
    lease_seconds: float = 60.0
    backoff_max: float = 60.0
    batch: int = 50  # messages fetched and committed together

    @property
    def peer(self) -> str:
        """What receipts of this mailbox carry in `peer` (64 characters at most)."""
        return f"imap:{self.name}"[:64]


_KEYS = {
    "name",
    "host",
    "port",
    "tls",
    "user",
    "password_env",
    "password_file",
    "folder",
    "processed_folder",
    "address",
    "idle",
    "poll_seconds",
    "idle_seconds",
    "timeout",
    "lease_seconds",
    "batch",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,57}$")


def parse_mailboxes(
    raw: object, where: str, environ: Mapping[str, str] | None = None
) -> tuple[MailboxSettings, ...]:
    """Check *raw* (a list of tables from TOML or JSON) and return the mailboxes; SettingsError otherwise.

    *where* names the source in messages (`gateway.toml: mailboxes[1].port: ...`). The password is read
    now, from the variable named by `password_env` or the file named by `password_file`, so that a
    missing secret stops the start instead of surfacing as a login failure later.
    """
    env = os.environ if environ is None else environ
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SettingsError(f"{where}: mailboxes must be a list of tables, not {type(raw).__name__}")
    result = tuple(_mailbox(item, f"{where}: mailboxes[{i}]", env) for i, item in enumerate(raw))
    names = [m.name for m in result]
    for name in names:
        if names.count(name) > 1:
            raise SettingsError(f"{where}: mailboxes: name {name!r} is used twice")
    return result


def _mailbox(item: object, at: str, env: Mapping[str, str]) -> MailboxSettings:
    if not isinstance(item, dict):
        raise SettingsError(f"{at}: must be a table, not {type(item).__name__}")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise SettingsError(f"{at}: unknown key {unknown[0]!r}")
    host = _text(item, "host", at, required=True)
    user = _text(item, "user", at, required=True)
    name = _text(item, "name", at) or f"{user}@{host}"
    if not _NAME.match(name):
        raise SettingsError(f"{at}.name: {name!r} must be 1-58 letters, digits, '.', '_', '@' or '-'")
    try:
        tls = Tls(_text(item, "tls", at) or "tls")
    except ValueError:
        raise SettingsError(f"{at}.tls: must be one of tls, starttls, none") from None
    port = _number(item, "port", at, int, DEFAULT_PORTS[tls])
    if not 0 < port < 65536:
        raise SettingsError(f"{at}.port: {port} is not a TCP port")
    folder = _text(item, "folder", at) or "INBOX"
    processed = _text(item, "processed_folder", at) or "Processed"
    if folder == processed:
        raise SettingsError(f"{at}.processed_folder: must differ from folder {folder!r}")
    idle = item.get("idle", True)
    if not isinstance(idle, bool):
        raise SettingsError(f"{at}.idle: must be true or false")
    return MailboxSettings(
        name=name,
        host=host,
        user=user,
        password=_password(item, at, env),
        port=port,
        tls=tls,
        folder=folder,
        processed_folder=processed,
        address=_text(item, "address", at).lower(),
        idle=idle,
        poll_seconds=_number(item, "poll_seconds", at, float, 60.0),
        idle_seconds=min(_number(item, "idle_seconds", at, float, 600.0), 25 * 60.0),
        timeout=_number(item, "timeout", at, float, 30.0),
        lease_seconds=_number(item, "lease_seconds", at, float, 60.0),
        batch=_number(item, "batch", at, int, 50),
    )


def _text(item: dict[str, Any], key: str, at: str, required: bool = False) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise SettingsError(f"{at}.{key}: must be a string")
    if required and not value.strip():
        raise SettingsError(f"{at}.{key}: is required")
    return value.strip()


def _number(item: dict[str, Any], key: str, at: str, kind: type[N], default: N) -> N:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
        raise SettingsError(f"{at}.{key}: must be a {'whole ' if kind is int else ''}number")
    if value <= 0:
        raise SettingsError(f"{at}.{key}: must be greater than 0")
    return kind(value)


def _password(item: dict[str, Any], at: str, env: Mapping[str, str]) -> str:
    var, file = _text(item, "password_env", at), _text(item, "password_file", at)
    if bool(var) == bool(file):
        raise SettingsError(f"{at}: give exactly one of password_env or password_file")
    if var:
        if var not in env:
            raise SettingsError(f"{at}.password_env: environment variable {var} is not set")
        return env[var]
    try:
        return Path(file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{at}.password_file: {exc}") from None
