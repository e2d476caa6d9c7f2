"""The API clients: systems that send feedback in through the signed webhook or Open311 (issue 17).

A client is made with `gateway client add NAME [--open311]`, which shows its secret once. A webhook
client's secret is kept as it is, since checking an HMAC needs the key itself; an Open311 client's
api_key is kept only as its SHA-256, since a key sent as it is can be checked against its hash. A client
is never deleted, only disabled: its name stays on the receipts it sent, and a name is never given twice.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, select, update

from gateway.errors import Conflict
from gateway.store.db import savepoint
from gateway.store.tables import api_clients

Kind = Literal["webhook", "open311"]
KINDS: tuple[Kind, ...] = ("webhook", "open311")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Names the gateway gives receipts itself: the web form's receipts are stored under client "form", and
# a client's idempotency keys are kept per client name, so no API client may take it.
RESERVED = frozenset({"form"})
_LISTED = select(api_clients.c.name, api_clients.c.kind, api_clients.c.created_at, api_clients.c.disabled_at)


@dataclass(frozen=True, slots=True)
class ApiClient:
    """A client as an operator may see it: never its secret."""

    name: str
    kind: str
    created_at: datetime
    disabled_at: datetime | None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


def check_name(name: str) -> str | None:
    """Why *name* cannot name a client (an English sentence), or None when it can."""
    if not NAME.fullmatch(name):
        return (
            f"{name[:80]!r} is not a client name: 1 to 64 characters of a-z, 0-9, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    if name in RESERVED:
        return f"{name!r} is reserved for the gateway's own receipts"
    return None


def add_client(conn: Connection, name: str, kind: Kind, now: datetime) -> str:
    """Make client *name* of *kind* and return its new secret, which is not shown anywhere again.

    ValueError for a name `check_name` refuses or an unknown kind; Conflict when the name is taken
    (by an enabled or a disabled client)."""
    if problem := check_name(name):
        raise ValueError(problem)
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a kind of client ({', '.join(KINDS)})")
    if conn.execute(select(api_clients.c.name).where(api_clients.c.name == name)).first() is not None:
        raise Conflict(f"a client named {name!r} exists already")
    secret = secrets.token_urlsafe(32)
    values = {"name": name, "kind": kind, "created_at": now, "disabled_at": None}
    if kind == "webhook":
        values |= {"secret": secret, "key_sha256": None}
    else:
        values |= {"secret": "", "key_sha256": key_hash(secret)}
    with savepoint(conn):  # another command adding the same name at once: a Conflict too
        conn.execute(api_clients.insert().values(values))
    return secret


def key_hash(api_key: str) -> str:
    """How an Open311 api_key is kept and looked up."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def webhook_secret(conn: Connection, name: str) -> str | None:
    """The HMAC key of the enabled webhook client *name*; None for any other name."""
    row = conn.execute(
        select(api_clients.c.secret).where(
            api_clients.c.name == name,
            api_clients.c.kind == "webhook",
            api_clients.c.disabled_at.is_(None),
        )
    ).first()
    return str(row.secret) if row is not None and row.secret else None


def open311_client(conn: Connection, api_key: str) -> str | None:
    """The name of the enabled Open311 client whose api_key is *api_key*; None for any other key."""
    if not api_key:
        return None
    row = conn.execute(
        select(api_clients.c.name).where(
            api_clients.c.key_sha256 == key_hash(api_key),
            api_clients.c.kind == "open311",
            api_clients.c.disabled_at.is_(None),
        )
    ).first()
    return str(row.name) if row is not None else None


def find_client(conn: Connection, name: str) -> ApiClient | None:
    row = conn.execute(_LISTED.where(api_clients.c.name == name)).first()
    return ApiClient(row.name, row.kind, row.created_at, row.disabled_at) if row is not None else None


def list_clients(conn: Connection) -> list[ApiClient]:
    """Every client, by name, disabled ones too."""
    rows = conn.execute(_LISTED.order_by(api_clients.c.name)).all()
    return [ApiClient(r.name, r.kind, r.created_at, r.disabled_at) for r in rows]


def disable_client(conn: Connection, name: str, now: datetime) -> bool:
    """Disable client *name* from *now* on: its requests are refused as an unknown client's. False when
    there is no such client; a client disabled before keeps the time it was first disabled."""
    if find_client(conn, name) is None:
        return False
    conn.execute(
        update(api_clients)
        .where(api_clients.c.name == name, api_clients.c.disabled_at.is_(None))
        .values(disabled_at=now)
    )
    return True
