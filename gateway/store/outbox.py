"""The outbox: mail and webhook calls we owe, queued with their cause and claimed by senders with a lease."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Select,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.db import Database
from gateway.store.leases import lease_rows
from gateway.store.tables import outbox, outbox_bodies


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


# Built once per dialect; rows come as parameters (see gateway/store/cases.py).
_ENQUEUE: dict[str, Insert] = {
    "postgresql": postgresql.insert(outbox)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(outbox.c.id),
    "sqlite": sqlite.insert(outbox)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(outbox.c.id),
}


_INSERT_BODY = insert(outbox_bodies)


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
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    # RETURNING, not rowcount: psycopg reports no reliable rowcount for ON CONFLICT DO NOTHING.
    row = conn.execute(_ENQUEUE[conn.dialect.name], values).first()
    if row is None:
        return False
    conn.execute(_INSERT_BODY, {"outbox_id": row.id, "body": item.body})
    return True


AUTOMATIC_KINDS = ("receipt", "how-to-answer", "reroute-refused", "interim")
# Mail in a case's conversation: a person wrote it, but two unmarked autoresponders could still make
# it ping-pong (answer -> follow-up -> answer ...), so it has a per-case limit too.
CONVERSATION_KINDS = ("answer", "follow-up")


def _one_of(kinds: tuple[str, ...]) -> ColumnElement[bool]:
    """`outbox.kind IN ('a', 'b')` written into the statement: a list of bound values is expanded anew at
    every execution (15 µs of a 40 µs count, bench/RESULTS.md). Only our own kind names go in."""
    unsafe = [kind for kind in kinds if not KIND.fullmatch(kind)]
    if unsafe:  # written into SQL: refuse anything but our own kind names, also under `python -O`
        raise ValueError(f"not a kind name: {unsafe!r}")
    return outbox.c.kind.in_([literal_column(f"'{kind}'") for kind in kinds])


KIND = re.compile(r"[a-z][a-z-]*")


def _automatic_since(param: str) -> Select[int]:
    """How many automatic notices were queued since the moment bound as *param*."""
    return (
        select(func.count())
        .select_from(outbox)
        .where(_one_of(AUTOMATIC_KINDS), outbox.c.created_at >= bindparam(param))
    )


_AUTOMATIC_ON_CASE = _automatic_since("since").where(outbox.c.case_id == bindparam("case_id"))
_CONVERSATION_ON_CASE = (
    select(func.count())
    .select_from(outbox)
    .where(
        _one_of(CONVERSATION_KINDS),
        outbox.c.case_id == bindparam("case_id"),
        outbox.c.created_at >= bindparam("since"),
    )
)


@functools.cache
def _recipients_of(kinds: tuple[str, ...]) -> Select[str]:
    return (
        select(outbox.c.recipient).where(outbox.c.case_id == bindparam("case_id"), _one_of(kinds)).distinct()
    )


@functools.cache
def _latest(kinds: tuple[str, ...]) -> Select[str | None]:
    return (
        select(outbox.c.message_id)
        .where(outbox.c.case_id == bindparam("case_id"), _one_of(kinds), outbox.c.message_id.is_not(None))
        .order_by(outbox.c.id.desc())
        .limit(1)
    )


_UNREACHABLE = (
    select(outbox.c.id)
    .where(
        outbox.c.recipient == bindparam("recipient"),
        outbox.c.state == "bounced",
        outbox.c.next_attempt_at >= bindparam("since"),  # when it bounced, see mark_bounced
    )
    .limit(1)
)


# Both questions a receipt's guard asks of its recipient, in one statement (one round trip instead of two).
_AUTOMATIC_GUARD = select(
    _UNREACHABLE.scalar_subquery().label("bounced"),  # bound: recipient, since
    _automatic_since("hour_ago")
    .where(outbox.c.recipient == bindparam("recipient"))
    .scalar_subquery()
    .label("recent"),
)


def automatic_guard(
    conn: Connection, recipient: str, bounced_since: datetime, since: datetime
) -> tuple[bool, int]:
    """Whether mail to *recipient* bounced since *bounced_since* (`is_unreachable`), and how many
    automatic notices were queued to it since *since*: one statement for both."""
    row = conn.execute(
        _AUTOMATIC_GUARD, {"recipient": recipient, "since": bounced_since, "hour_ago": since}
    ).one()
    return row.bounced is not None, int(row.recent)


def count_automatic_on_case(conn: Connection, case_id: int, since: datetime) -> int:
    """Automatic notices queued on one case since *since*."""
    return int(conn.execute(_AUTOMATIC_ON_CASE, {"case_id": case_id, "since": since}).scalar_one())


def count_conversation_on_case(conn: Connection, case_id: int, since: datetime) -> int:
    """Answers and follow-ups relayed on one case since *since*."""
    return int(conn.execute(_CONVERSATION_ON_CASE, {"case_id": case_id, "since": since}).scalar_one())


@functools.cache
def _latest_recipient(kinds: tuple[str, ...]) -> Select[str]:
    return (
        select(outbox.c.recipient)
        .where(outbox.c.case_id == bindparam("case_id"), _one_of(kinds))
        .order_by(outbox.c.id.desc())
        .limit(1)
    )


def latest_recipient(conn: Connection, case_id: int, kinds: tuple[str, ...]) -> str | None:
    """Who the newest mail of *kinds* on a case went to."""
    found = conn.execute(_latest_recipient(kinds), {"case_id": case_id}).scalar_one_or_none()
    return found.lower() if found else None


def recipients_of(conn: Connection, case_id: int, kinds: tuple[str, ...]) -> frozenset[str]:
    """Everyone a case's mail of *kinds* went to: for hand-overs, the people who may answer it."""
    rows = conn.execute(_recipients_of(kinds), {"case_id": case_id}).scalars()
    return frozenset(r.lower() for r in rows)


def latest_message_id(conn: Connection, case_id: int, kinds: tuple[str, ...]) -> str | None:
    """The Message-ID of the newest mail of *kinds* on a case: what a later mail threads to."""
    return conn.execute(_latest(kinds), {"case_id": case_id}).scalar_one_or_none()


def mark_bounced(
    conn: Connection, message_ids: tuple[str, ...], reason: str, now: datetime
) -> list[tuple[str, str]]:
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
            # A bounced row is never attempted again; its next_attempt_at keeps when it bounced.
            .values(state="bounced", last_error=reason[:2000], next_attempt_at=now)
        )
    return [(r.recipient, r.kind) for r in rows]


def mark_bounced_row(
    conn: Connection, outbox_id: int, final_recipients: tuple[str, ...], reason: str, now: datetime
) -> tuple[str, str] | None:
    """Record that outbox row *outbox_id* bounced, if the DSN reports on the row's own recipient (its
    Final-Recipient, RFC 3464 2.3.2); return its (recipient, kind), or None when nothing was marked."""
    row = conn.execute(
        select(outbox.c.recipient, outbox.c.kind).where(
            outbox.c.id == outbox_id, outbox.c.transport == "mail"
        )
    ).first()
    if row is None or row.recipient.lower() not in final_recipients:
        return None
    conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(state="bounced", last_error=reason[:2000], next_attempt_at=now)
    )
    return row.recipient, row.kind


def case_of(conn: Connection, outbox_id: int) -> int | None:
    """The case outbox row *outbox_id* belongs to."""
    return conn.execute(select(outbox.c.case_id).where(outbox.c.id == outbox_id)).scalar_one_or_none()


def is_unreachable(conn: Connection, address: str, since: datetime) -> bool:
    """Whether mail to *address* bounced since *since*: then it is unreachable for a while."""
    return conn.execute(_UNREACHABLE, {"recipient": address, "since": since}).first() is not None


def claim_due(db: Database, owner: str, limit: int, now: datetime, lease: timedelta) -> list[Claimed]:
    """Lease up to *limit* messages that are due to *owner*."""
    due = and_(
        outbox.c.state == "pending",
        outbox.c.next_attempt_at <= now,
        or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
    )
    with db.write() as conn:
        order = (outbox.c.next_attempt_at, outbox.c.id)
        ids = lease_rows(conn, outbox, due, order, owner, limit, now + lease)
    if not ids:
        return []
    # The rows are ours now and their bodies never change: read them (megabytes with photos) after the
    # commit, not while holding SQLite's write lock that senders' receipts wait for.
    with db.read() as conn:
        rows = conn.execute(
            select(
                outbox.c.id,
                outbox.c.kind,
                outbox.c.transport,
                outbox.c.recipient,
                outbox.c.mail_from,
                outbox.c.message_id,
                outbox_bodies.c.body,
                outbox.c.attempts,
                outbox.c.case_id,
            )
            .join(outbox_bodies, outbox_bodies.c.outbox_id == outbox.c.id)
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
            # Only rows still pending: a bounce may have been recorded while the delivery was in hand.
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(sent), outbox.c.lease_owner == owner, outbox.c.state == "pending")
                .values(state="sent", sent_at=now, lease_until=None, last_error=None)
            )
        for item_id, error, retry_at in failed:
            values: dict[str, object] = {"last_error": error[:2000], "lease_until": None}
            if retry_at is None:
                values["state"] = "parked"
            else:
                values["next_attempt_at"] = retry_at
            conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.lease_owner == owner, outbox.c.state == "pending")
                .values(**values)
            )


def next_due(db: Database) -> datetime | None:
    """When the earliest pending message is due, so that an idle sender knows how long to sleep."""
    with db.read() as conn:
        return conn.execute(
            select(func.min(outbox.c.next_attempt_at)).where(outbox.c.state == "pending")
        ).scalar_one_or_none()
