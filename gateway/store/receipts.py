"""Receipts: the committed raw input of every channel, claimed by intake workers with a lease."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from gateway.model import Channel
from gateway.model.receipt import NewReceipt, Stored
from gateway.store.db import Database
from gateway.store.leases import lease_rows
from gateway.store.tables import receipt_bodies, receipts


@dataclass(frozen=True, slots=True)
class Receipt:
    id: int
    channel: Channel
    raw: bytes
    mail_from: str | None
    rcpt_tos: tuple[str, ...]
    attempts: int
    received_at: datetime
    peer: str = ""  # the SMTP client's address: new cases per client are limited (issue 15)
    tracking_code: str | None = None  # drawn by the channel before the receipt was stored (issue 17)


def insert_receipts(conn: Connection, items: list[NewReceipt], now: datetime) -> list[int]:
    """Insert *items* in one batched statement, returning their ids in order."""
    return [stored.id for stored in store_receipts(conn, items, now)]


def store_receipts(conn: Connection, items: list[NewReceipt], now: datetime) -> list[Stored]:
    """Insert *items* in one batched statement; what each became, in order. An item whose client and
    idempotency key name a receipt stored before (or earlier in *items*) is not stored again: it gets
    that receipt's id and code, marked replayed (issue 17)."""
    digests = [_digest(item) for item in items]
    earlier = _receipts_by_key(conn, items)
    first_of_key: dict[tuple[str, str], int] = {}  # a key's first item in this batch
    fresh: list[int] = []
    for n, item in enumerate(items):
        key = _key(item)
        if key is None or (key not in earlier and key not in first_of_key):
            fresh.append(n)
            if key is not None:
                first_of_key[key] = n
    stored: dict[int, Stored] = {}
    if fresh:
        rows = [_row(items[n], digests[n], now) for n in fresh]
        result = conn.execute(insert(receipts).returning(receipts.c.id, sort_by_parameter_order=True), rows)
        ids = [int(i) for i in result.scalars()]
        bodies = [{"receipt_id": i, "raw": items[n].raw} for i, n in zip(ids, fresh, strict=True)]
        conn.execute(insert(receipt_bodies), bodies)
        stored = {n: Stored(rid, items[n].tracking_code) for rid, n in zip(ids, fresh, strict=True)}
    answers: list[Stored] = []
    for n, item in enumerate(items):
        key = _key(item)
        if n in stored or key is None:
            answers.append(stored[n])
        elif key in earlier:
            rid, code, digest = earlier[key]
            answers.append(Stored(rid, code, replayed=True, same_body=digest == digests[n]))
        else:
            first = first_of_key[key]
            original = stored[first]
            same = digests[first] == digests[n]
            answers.append(Stored(original.id, original.tracking_code, replayed=True, same_body=same))
    return answers


def _digest(item: NewReceipt) -> str:
    """The hash of the receipt's bytes. A submission's bytes hold the tracking code drawn for that try,
    so the code is left out: the same submission sent again under its idempotency key has the same hash
    (and a mail has no drawn code, so it is hashed whole, as before)."""
    raw = item.raw.replace(item.tracking_code.encode(), b"") if item.tracking_code else item.raw
    return hashlib.sha256(raw).hexdigest()


def _key(item: NewReceipt) -> tuple[str, str] | None:
    return None if item.idempotency_key is None else (item.client, item.idempotency_key)


def _row(item: NewReceipt, digest: str, now: datetime) -> dict[str, object]:
    return {
        "channel": item.channel,
        "received_at": now,
        "mail_from": item.mail_from,
        "rcpt_tos": list(item.rcpt_tos),
        "peer": item.peer,
        "sha256": digest,
        "state": "pending",
        "attempts": 0,
        "tracking_code": item.tracking_code,
        "client": item.client,
        "idempotency_key": item.idempotency_key,
    }


def _receipts_by_key(
    conn: Connection, items: list[NewReceipt]
) -> dict[tuple[str, str], tuple[int, str | None, str]]:
    """The receipts stored before under the client and idempotency keys of *items*."""
    keys = {(i.client, i.idempotency_key) for i in items if i.idempotency_key is not None}
    if not keys:  # mail: no query at all on the hot path
        return {}
    found: dict[tuple[str, str], tuple[int, str | None, str]] = {}
    for client in {c for c, _ in keys}:
        wanted = [k for c, k in keys if c == client]
        rows = conn.execute(
            select(
                receipts.c.id, receipts.c.tracking_code, receipts.c.sha256, receipts.c.idempotency_key
            ).where(receipts.c.client == client, receipts.c.idempotency_key.in_(wanted))
        ).all()
        for r in rows:
            found[(client, r.idempotency_key)] = (int(r.id), r.tracking_code, r.sha256)
    return found


def claim_pending(db: Database, owner: str, limit: int, now: datetime, lease: timedelta) -> list[Receipt]:
    """Lease up to *limit* pending receipts to *owner*, oldest first.

    The lease only keeps two nodes from parsing the same mail at once; what makes a receipt become
    exactly one case is the conditional `finish` in the same transaction as the case (see intake.py).
    """
    claimable = and_(
        receipts.c.state == "pending",
        or_(receipts.c.lease_until.is_(None), receipts.c.lease_until < now),
    )
    with db.write(durable=False) as conn:  # a lease lost in a power cut is taken again
        ids = lease_rows(conn, receipts, claimable, (receipts.c.id,), owner, limit, now + lease)
    if not ids:
        return []
    with db.read() as conn:  # the raw mail after the commit, not under SQLite's write lock (see outbox)
        rows = conn.execute(
            select(
                receipts.c.id,
                receipts.c.channel,
                receipt_bodies.c.raw,
                receipts.c.mail_from,
                receipts.c.rcpt_tos,
                receipts.c.attempts,
                receipts.c.received_at,
                receipts.c.peer,
                receipts.c.tracking_code,
            )
            .join(receipt_bodies, receipt_bodies.c.receipt_id == receipts.c.id)
            .where(receipts.c.id.in_(ids))
            .order_by(receipts.c.id)
        ).all()
    return [
        Receipt(
            r.id,
            Channel(r.channel),
            r.raw,
            r.mail_from,
            tuple(r.rcpt_tos),
            r.attempts,
            r.received_at,
            r.peer,
            r.tracking_code,
        )
        for r in rows
    ]


# Built once; the row's values come as parameters (see gateway/store/cases.py).
_FINISH = (
    update(receipts)
    .where(
        receipts.c.id == bindparam("rid"),
        receipts.c.state == "pending",
        receipts.c.lease_owner == bindparam("owner"),
    )
    .values(state="done", lease_until=None, error=None)
)


def finish(
    conn: Connection,
    receipt_id: int,
    owner: str,
    *,
    outcome: str,
    now: datetime,
    message_id: str | None = None,
    case_id: int | None = None,
) -> bool:
    """Mark a receipt done, only if it is still pending and leased to *owner*. False means another took it."""
    values = {
        "rid": receipt_id,
        "owner": owner,
        "outcome": outcome,
        "message_id": message_id,
        "case_id": case_id,
        "processed_at": now,
    }
    result = conn.execute(_FINISH, values)
    return result.rowcount == 1


def park(conn: Connection, receipt_id: int, error: str, now: datetime) -> None:
    """Set a receipt aside with its error; `gateway reprocess` puts it back."""
    conn.execute(
        update(receipts)
        .where(receipts.c.id == receipt_id, receipts.c.state == "pending")
        .values(state="parked", error=error[:4000], processed_at=now, lease_until=None)
    )


def requeue_parked(db: Database, ids: list[int] | None = None) -> int:
    """Put parked receipts (all, or those in *ids*) back in the queue. Returns how many."""
    with db.write() as conn:
        stmt = update(receipts).where(receipts.c.state == "parked")
        if ids:
            stmt = stmt.where(receipts.c.id.in_(ids))
        return conn.execute(
            stmt.values(state="pending", attempts=0, lease_until=None, lease_owner=None)
        ).rowcount


def list_parked(db: Database) -> list[tuple[int, datetime, str]]:
    with db.read() as conn:
        rows = conn.execute(
            select(receipts.c.id, receipts.c.received_at, receipts.c.error)
            .where(receipts.c.state == "parked")
            .order_by(receipts.c.id)
        ).all()
    return [(r.id, r.received_at, r.error or "") for r in rows]


@dataclass(frozen=True, slots=True)
class CaselessReceipt:
    """A receipt that ended without a case: parked, or done as automatic mail, a loop, a duplicate."""

    id: int
    received_at: datetime
    state: str
    outcome: str
    error: str
    mail_from: str | None
    raw: bytes


def list_without_case(db: Database, limit: int = 1000) -> list[CaselessReceipt]:
    """The newest *limit* receipts that no case holds (issue 15: every such receipt must be listable)."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                receipts.c.id,
                receipts.c.received_at,
                receipts.c.state,
                receipts.c.outcome,
                receipts.c.error,
                receipts.c.mail_from,
                receipt_bodies.c.raw,
            )
            .join(receipt_bodies, receipt_bodies.c.receipt_id == receipts.c.id)
            .where(receipts.c.case_id.is_(None), receipts.c.state != "pending")
            .order_by(receipts.c.id.desc())
            .limit(limit)
        ).all()
    return [
        CaselessReceipt(r.id, r.received_at, r.state, r.outcome or "", r.error or "", r.mail_from, r.raw)
        for r in reversed(rows)
    ]
