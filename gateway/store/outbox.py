"""The outbox: mail and webhook calls we owe, queued with their cause and claimed by senders with a lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Insert, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.db import Database
from gateway.store.tables import outbox


@dataclass(frozen=True, slots=True)
class OutboundItem:
    """One thing to deliver. The dedupe key makes enqueueing idempotent: a retry queues no second copy."""

    dedupe_key: str
    kind: str
    recipient: str
    body: bytes
    case_id: int | None = None
    transport: str = "mail"
    mail_from: str = ""
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    kind: str
    transport: str
    recipient: str
    mail_from: str
    message_id: str | None
    body: bytes
    attempts: int
    case_id: int | None


def enqueue(conn: Connection, item: OutboundItem, now: datetime) -> bool:
    """Queue *item* unless its dedupe key is queued already. True when it was new."""
    values = {
        "dedupe_key": item.dedupe_key,
        "kind": item.kind,
        "case_id": item.case_id,
        "transport": item.transport,
        "recipient": item.recipient,
        "mail_from": item.mail_from,
        "message_id": item.message_id,
        "body": item.body,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    dialect = conn.dialect.name
    stmt: Insert
    if dialect == "postgresql":
        stmt = (
            postgresql.insert(outbox).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(outbox).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:  # pragma: no cover - the two databases we support are above
        stmt = insert(outbox).values(**values)
    # RETURNING, not rowcount: psycopg reports no reliable rowcount for ON CONFLICT DO NOTHING.
    return conn.execute(stmt.returning(outbox.c.id)).first() is not None


def count_recent(conn: Connection, recipient: str, kind: str, since: datetime) -> int:
    """How many *kind* messages went (or are going) to *recipient* since *since*: for rate limits."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.recipient == recipient, outbox.c.kind == kind, outbox.c.created_at >= since)
        ).scalar_one()
    )


def claim_due(db: Database, owner: str, limit: int, now: datetime, lease: timedelta) -> list[Claimed]:
    """Lease up to *limit* messages that are due to *owner*."""
    due = and_(
        outbox.c.state == "pending",
        outbox.c.next_attempt_at <= now,
        or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
    )
    with db.write() as conn:
        ids = list(
            conn.execute(
                select(outbox.c.id)
                .where(due)
                .order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if not ids:
            return []
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(lease_owner=owner, lease_until=now + lease, attempts=outbox.c.attempts + 1)
        )
        rows = conn.execute(
            select(
                outbox.c.id,
                outbox.c.kind,
                outbox.c.transport,
                outbox.c.recipient,
                outbox.c.mail_from,
                outbox.c.message_id,
                outbox.c.body,
                outbox.c.attempts,
                outbox.c.case_id,
            )
            .where(outbox.c.id.in_(ids))
            .order_by(outbox.c.id)
        ).all()
    return [Claimed(**r._asdict()) for r in rows]


def record_results(
    db: Database,
    owner: str,
    now: datetime,
    sent: list[int],
    failed: list[tuple[int, str, datetime | None]],
) -> None:
    """Record a round of deliveries in one transaction: *sent* ids, and failures to retry at a time or park
    (None). Only the lease holder's rows are touched, so a taken-over row is not marked twice."""
    with db.write() as conn:
        if sent:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(sent), outbox.c.lease_owner == owner)
                .values(state="sent", sent_at=now, lease_until=None, last_error=None)
            )
        for item_id, error, retry_at in failed:
            values: dict[str, object] = {"last_error": error[:2000], "lease_until": None}
            if retry_at is None:
                values["state"] = "parked"
            else:
                values["next_attempt_at"] = retry_at
            conn.execute(
                update(outbox).where(outbox.c.id == item_id, outbox.c.lease_owner == owner).values(**values)
            )


def next_due(db: Database) -> datetime | None:
    """When the earliest pending message is due, so that an idle sender knows how long to sleep."""
    with db.read() as conn:
        return conn.execute(
            select(func.min(outbox.c.next_attempt_at)).where(outbox.c.state == "pending")
        ).scalar_one_or_none()
