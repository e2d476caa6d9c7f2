"""How many new cases one sender address or one SMTP client opened lately: the backscatter limits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select

from gateway.store.tables import cases, receipts

_FROM_SENDER = (
    select(func.count())
    .select_from(cases)
    .where(cases.c.resident_email == bindparam("email"), cases.c.created_at >= bindparam("since"))
)
_FROM_CLIENT = (
    select(func.count())
    .select_from(receipts)
    .where(
        receipts.c.peer == bindparam("peer"),
        receipts.c.received_at >= bindparam("since"),
        receipts.c.outcome == "new-case",
    )
)


def new_cases_from_sender(conn: Connection, email: str, since: datetime) -> int:
    """Cases whose resident is *email*, opened since *since* (a case opened in this transaction counts)."""
    return int(conn.execute(_FROM_SENDER, {"email": email, "since": since}).scalar_one())


def new_cases_from_client(conn: Connection, peer: str, since: datetime) -> int:
    """Receipts from client address *peer* received since *since* that opened a case (settled ones)."""
    return int(conn.execute(_FROM_CLIENT, {"peer": peer, "since": since}).scalar_one())
