"""Leased claims: how workers take rows (receipts, outbox mail, deadline tasks) on any number of nodes.

`FOR UPDATE SKIP LOCKED` lets PostgreSQL nodes claim disjoint rows at once (FINDINGS.md: 4 processes, 500
tasks, 500 unique claims); SQLite drops it silently, and its write transactions are serialised anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, select, update


def lease_rows(
    conn: Connection,
    table: Table,
    due: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any]],
    owner: str,
    limit: int,
    until: datetime,
) -> list[int]:
    """Lease up to *limit* rows of *table* matching *due* to *owner* until *until*; their ids, in order.

    Counts an attempt on each: the caller's transaction holds the claim only once it commits.
    """
    ids = list(
        conn.execute(
            select(table.c.id).where(due).order_by(*order_by).limit(limit).with_for_update(skip_locked=True)
        ).scalars()
    )
    if ids:
        conn.execute(
            update(table)
            .where(table.c.id.in_(ids))
            .values(lease_owner=owner, lease_until=until, attempts=table.c.attempts + 1)
        )
    return ids
