"""IMAP mailbox state: the lease that lets one node read a mailbox, and how far reading got."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.errors import LeaseLost
from gateway.model.receipt import MailboxState
from gateway.store.db import Database
from gateway.store.tables import mailboxes, receipts


def take_lease(db: Database, name: str, owner: str, now: datetime, lease: timedelta) -> MailboxState | None:
    """Take or renew the lease of mailbox *name* for *owner*; its state, or None while another holds it.

    Times are the app clock's (as for receipt and outbox leases): nodes must keep their clocks in step
    to well within the lease, which NTP does by orders of magnitude.
    """
    owner = owner[:64]
    with db.write() as conn:
        _ensure_row(conn, name, now)
        taken = conn.execute(
            update(mailboxes)
            .where(
                mailboxes.c.name == name,
                or_(
                    mailboxes.c.lease_owner == owner,
                    mailboxes.c.lease_until.is_(None),
                    mailboxes.c.lease_until < now,
                ),
            )
            .values(lease_owner=owner, lease_until=now + lease, updated_at=now)
        ).rowcount
        if taken != 1:
            return None
        row = conn.execute(
            select(mailboxes.c.uidvalidity, mailboxes.c.last_uid).where(mailboxes.c.name == name)
        ).one()
    return MailboxState(row.uidvalidity, row.last_uid)


def _ensure_row(conn: Connection, name: str, now: datetime) -> None:
    """Insert the mailbox's row unless it exists; two nodes doing so at once must both succeed."""
    values = {"name": name, "last_uid": 0, "updated_at": now}
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(mailboxes).values(values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite.insert(mailboxes).values(values).on_conflict_do_nothing())


def record_progress(
    conn: Connection, name: str, owner: str, uidvalidity: int, last_uid: int, now: datetime
) -> None:
    """Move the mailbox's mark to *last_uid*, in the transaction of the receipts it covers.

    Raises LeaseLost (rolling the receipts back) if *owner* no longer holds the lease: the node that
    took over reads these messages again, and only one of the two commits.
    """
    done = conn.execute(
        update(mailboxes)
        .where(mailboxes.c.name == name, mailboxes.c.lease_owner == owner[:64])
        .values(uidvalidity=uidvalidity, last_uid=last_uid, last_error=None, updated_at=now)
    ).rowcount
    if done != 1:
        raise LeaseLost(f"mailbox {name}: lease lost to another node")


def stored_hashes(conn: Connection, peer: str, raws: Iterable[bytes]) -> set[str]:
    """The sha256 hashes among *raws* that already have a receipt from the same mailbox (*peer*)."""
    hashes = {hashlib.sha256(raw).hexdigest() for raw in raws}
    if not hashes:
        return set()
    found = conn.execute(
        select(receipts.c.sha256).where(
            receipts.c.sha256.in_(hashes), receipts.c.channel == "imap", receipts.c.peer == peer
        )
    ).scalars()
    return set(found)


def release(db: Database, name: str, owner: str, now: datetime) -> None:
    """Give the lease up on a clean stop, so that another node need not wait for it to expire."""
    with db.write() as conn:
        conn.execute(
            update(mailboxes)
            .where(mailboxes.c.name == name, mailboxes.c.lease_owner == owner[:64])
            .values(lease_until=None, updated_at=now)
        )


def record_error(db: Database, name: str, error: str, now: datetime) -> None:
    """Keep the last failure of a mailbox for health and statistics."""
    with db.write() as conn:
        conn.execute(
            update(mailboxes).where(mailboxes.c.name == name).values(last_error=error[:4000], updated_at=now)
        )
