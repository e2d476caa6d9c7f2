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


AUTOMATIC_KINDS = ("receipt", "how-to-answer", "reroute-refused", "interim")


def count_automatic_since(
    conn: Connection, since: datetime, *, recipient: str | None = None, case_id: int | None = None
) -> int:
    """Automatic notices (not answers, not hand-overs) queued since *since*, to a recipient or on a case."""
    query = (
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.kind.in_(AUTOMATIC_KINDS), outbox.c.created_at >= since)
    )
    if recipient is not None:
        query = query.where(outbox.c.recipient == recipient)
    if case_id is not None:
        query = query.where(outbox.c.case_id == case_id)
    return int(conn.execute(query).scalar_one())


def recipients_of(conn: Connection, case_id: int, kinds: tuple[str, ...]) -> frozenset[str]:
    """Everyone a case's mail of *kinds* went to: for hand-overs, the people who may answer it."""
    rows = conn.execute(
        select(outbox.c.recipient).where(outbox.c.case_id == case_id, outbox.c.kind.in_(kinds)).distinct()
    ).scalars()
    return frozenset(r.lower() for r in rows)


def latest_message_id(conn: Connection, case_id: int, kinds: tuple[str, ...]) -> str | None:
    """The Message-ID of the newest mail of *kinds* on a case: what a later mail threads to."""
    return conn.execute(
        select(outbox.c.message_id)
        .where(outbox.c.case_id == case_id, outbox.c.kind.in_(kinds), outbox.c.message_id.is_not(None))
        .order_by(outbox.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def mark_bounced(conn: Connection, message_ids: tuple[str, ...], reason: str) -> list[tuple[str, str]]:
    """Record that the mail with *message_ids* bounced; return (recipient, kind) of each one found."""
    if not message_ids:
        return []
    rows = conn.execute(
        select(outbox.c.id, outbox.c.recipient, outbox.c.kind).where(outbox.c.message_id.in_(message_ids))
    ).all()
    if rows:
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_([r.id for r in rows]))
            .values(state="bounced", last_error=reason[:2000])
        )
    return [(r.recipient, r.kind) for r in rows]


def is_unreachable(conn: Connection, address: str, since: datetime) -> bool:
    """Whether mail we sent to *address* since *since* bounced: then it is unreachable for a while."""
    return (
        conn.execute(
            select(outbox.c.id)
            .where(outbox.c.recipient == address, outbox.c.state == "bounced", outbox.c.created_at >= since)
            .limit(1)
        ).first()
        is not None
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
