"""Leased claims: how workers take rows (receipts, outbox mail, deadline tasks) on any number of nodes.

`FOR UPDATE SKIP LOCKED` lets PostgreSQL nodes claim disjoint rows at once (FINDINGS.md: 4 processes, 500
tasks, 500 unique claims); SQLite drops it silently, and its write transactions are serialised anyway.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, select, update

from gateway.store.tables import mailboxes, outbox, receipts, scheduled_tasks


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


# Issue 13: a lease owner id names its process, so that a restart on the same node need not wait out a
# dead process's leases (60 s for receipts, 5 min for outbox mail). "<node>:<pid>:<start>", where <start>
# is the process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat): a pid reused by
# another process has another start time and is not mistaken for the dead holder. Without /proc the id
# gets a random part instead, and leases only expire (docs/decisions/0024a-recovery-lease-owners.md).
PROC = Path("/proc")
OWNER_LENGTH = 64  # lease_owner's column width (gateway/store/tables.py)
LEASED_TABLES = (receipts, outbox, scheduled_tasks, mailboxes)


def start_time(pid: int, proc: Path = PROC) -> int | None:
    """The start time of process *pid* (None if there is none, or it is a zombie: it holds nothing)."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # The name in parentheses may hold spaces and ')': count the fields after its last ')', from field 3.
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def process_owner(node_name: str, pid: int | None = None, proc: Path = PROC) -> str:
    """This process's lease owner id; with a random last part where /proc cannot tell a start time."""
    pid = os.getpid() if pid is None else pid
    start = start_time(pid, proc)
    mark = str(start) if start is not None else f"u{uuid.uuid4().hex[:8]}"
    # The columns hold 64 characters: a longer node name is cut, never the pid or start time (a cut
    # number could name a live process as dead). A cut name is not this node's name: expiry only.
    tail = f":{pid}:{mark}"
    return f"{node_name[: OWNER_LENGTH - len(tail)]}{tail}"


def parse_owner(owner: str) -> tuple[str, int, int] | None:
    """(node, pid, start) of an owner id made by `process_owner`; None for any other (older ids, ids
    with a random part, ids cut to the column's 64 characters)."""
    node_pid, _, start = owner.rpartition(":")
    node, _, pid = node_pid.rpartition(":")
    if not node or not pid.isdigit() or not start.isdigit():
        return None
    return node, int(pid), int(start)


def is_dead(owner: str, node_name: str, alive_since: Callable[[int], int | None]) -> bool:
    """Whether *owner* is a process of *node_name* that is gone: no process has its pid, or the one that
    has it started at another time. Owners of other nodes and ids we cannot read are never dead here:
    their leases expire as before."""
    parsed = parse_owner(owner)
    if parsed is None or parsed[0] != node_name:
        return False
    _, pid, start = parsed
    return alive_since(pid) != start


def release_dead_owners(conn: Connection, node_name: str, proc: Path = PROC) -> dict[str, int]:
    """Clear the leases that dead processes of *node_name* hold, in every leased table: the rows are
    claimable at once. The number released per table (empty where /proc is missing).

    Only this node's processes are judged: a pid means nothing on another host. Two hosts must therefore
    not share a node_name (the hostname by default)."""
    if not (proc / "self" / "stat").exists():
        return {}
    prefix = f"{node_name}:"
    released: dict[str, int] = {}
    for table in LEASED_TABLES:
        owners = conn.execute(
            select(table.c.lease_owner)
            .where(table.c.lease_until.is_not(None), table.c.lease_owner.startswith(prefix, autoescape=True))
            .distinct()
        ).scalars()
        dead = [o for o in owners if is_dead(o, node_name, lambda pid: start_time(pid, proc))]
        if not dead:
            continue
        count = conn.execute(
            update(table).where(table.c.lease_owner.in_(dead)).values(lease_until=None)
        ).rowcount
        released[table.name] = count
    return released
