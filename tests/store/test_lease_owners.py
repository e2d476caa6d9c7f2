"""Issue 13: a process taking over, at its start, the leases of its own node's dead processes.

On SQLite and PostgreSQL, for every leased table (receipts, outbox mail, deadline tasks, IMAP mailboxes).
Which processes live is read from a fake /proc, so that every case is the same on every machine; one test
reads the real /proc with a real process that has died.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.model import NewReceipt
from gateway.store import mailboxes, outbox, receipts, tasks
from gateway.store.db import Database
from gateway.store.leases import is_dead, parse_owner, process_owner, release_dead_owners, start_time
from gateway.store.outbox import OutboundItem
from gateway.store.tables import cases
from gateway.store.tasks import NewTask

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
NODE = "city-gw-1"
TAKER = f"{NODE}:999:1"  # the process that has just started

# (owner of the lease, the process in /proc with that pid: (state, start time) or None, taken over?)
CASES = [
    pytest.param(f"{NODE}:100:5000", ("S", 5000), False, id="live process of this node"),
    pytest.param(f"{NODE}:101:5000", None, True, id="dead process of this node"),
    pytest.param(f"{NODE}:102:5000", ("S", 7777), True, id="pid reused by a process started later"),
    pytest.param(f"{NODE}:103:5000", ("Z", 5000), True, id="zombie: killed, not yet reaped"),
    pytest.param("other-node:104:5000", None, False, id="another node: its lease expires"),
    pytest.param(f"{NODE}:105:u1a2b3c4d", None, False, id="no start time known: its lease expires"),
    pytest.param(f"{NODE}x:106:5000", None, False, id="a node whose name merely begins with ours"),
    pytest.param(f"{NODE}:107:123:5000", None, False, id="a node name with ':' in it is another node"),
]


def _stat(pid: int, state: str, start: int) -> str:
    """A /proc/<pid>/stat line; the name has a space and a ')' as real ones may."""
    after = [state, *["0"] * 18, str(start), "0", "0"]
    return f"{pid} (gate way) x) {' '.join(after)}\n"


def _fake_proc(tmp_path: Path, processes: dict[int, tuple[str, int]]) -> Path:
    proc = tmp_path / "proc"
    # 999 is the process taking over, 100 a live neighbour of it on this node.
    for pid, (state, start) in {999: ("R", 1), 100: ("S", 5000), **processes}.items():
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "stat").write_text(_stat(pid, state, start))
    (proc / "self").symlink_to(proc / "999")
    return proc


def _lease_one_of_each(db: Database, owner: str, n: int) -> dict[str, int]:
    """A receipt, an outbox message, a deadline task and a mailbox, each leased to *owner*."""
    with db.write() as conn:
        [rid] = receipts.insert_receipts(conn, [NewReceipt("smtp", b"raw%d" % n, "a@b", ("p@h",))], NOW)
        outbox.enqueue(conn, OutboundItem(f"receipt:{n}", "receipt", "matti@example.fi", b"body"), NOW)
        case_id = conn.execute(
            cases.insert()
            .values(code=f"HEL-0000-{n:04}", status="routed", channel="smtp", created_at=NOW, updated_at=NOW)
            .returning(cases.c.id)
        ).scalar_one()
        tasks.add(conn, [NewTask(f"alarm:{n}", "alarm", case_id, NOW, NOW)], NOW)
    [receipt] = receipts.claim_pending(db, owner, 1, NOW, LEASE)
    [mail] = outbox.claim_due(db, owner, 1, NOW, LEASE)
    [task] = tasks.claim_due(db, owner, 1, NOW, LEASE)
    assert receipt.id == rid
    assert mailboxes.take_lease(db, f"box{n}", owner, NOW, LEASE) is not None
    return {"receipts": receipt.id, "outbox": mail.id, "tasks": task.id}


@pytest.mark.parametrize(("owner", "process", "taken_over"), CASES)
def test_a_restart_takes_over_the_leases_of_its_nodes_dead_processes_only(
    db: Database, tmp_path: Path, owner: str, process: tuple[str, int] | None, taken_over: bool
) -> None:
    pid = int(owner.split(":")[-2]) if owner.split(":")[-2].isdigit() else 0
    proc = _fake_proc(tmp_path, {pid: process} if process else {})
    held = _lease_one_of_each(db, owner, 1)
    control = _lease_one_of_each(db, f"{NODE}:100:5000", 2) if owner != f"{NODE}:100:5000" else None

    with db.write() as conn:
        release_dead_owners(conn, NODE, proc)

    # Still within every lease: only a released row can be claimed by the new process.
    later = NOW + timedelta(seconds=1)
    got = {
        "receipts": [r.id for r in receipts.claim_pending(db, TAKER, 10, later, LEASE)],
        "outbox": [m.id for m in outbox.claim_due(db, TAKER, 10, later, LEASE)],
        "tasks": [t.id for t in tasks.claim_due(db, TAKER, 10, later, LEASE)],
    }
    expected = {table: [row_id] if taken_over else [] for table, row_id in held.items()}
    assert got == expected
    assert (mailboxes.take_lease(db, "box1", TAKER, later, LEASE) is not None) is taken_over
    if control is not None:  # the live process next to it keeps its mailbox too
        assert mailboxes.take_lease(db, "box2", TAKER, later, LEASE) is None


def test_the_counts_released_per_table(db: Database, tmp_path: Path) -> None:
    _lease_one_of_each(db, f"{NODE}:101:5000", 1)
    with db.write() as conn:
        assert release_dead_owners(conn, NODE, _fake_proc(tmp_path, {})) == {
            "receipts": 1,
            "outbox": 1,
            "scheduled_tasks": 1,
            "mailboxes": 1,
        }
    with db.write() as conn:  # a second start finds nothing left to take over
        assert release_dead_owners(conn, NODE, _fake_proc(tmp_path / "again", {})) == {}


def test_without_proc_leases_only_expire(db: Database, tmp_path: Path) -> None:
    _lease_one_of_each(db, f"{NODE}:101:5000", 1)
    with db.write() as conn:
        assert release_dead_owners(conn, NODE, tmp_path / "no-proc") == {}
    assert receipts.claim_pending(db, TAKER, 10, NOW, LEASE) == []
    assert process_owner(NODE, 4242, tmp_path / "no-proc").startswith(f"{NODE}:4242:u")
    assert parse_owner(process_owner(NODE, 4242, tmp_path / "no-proc")) is None


def test_an_owner_id_fits_its_column_and_a_cut_node_name_is_never_judged(tmp_path: Path) -> None:
    long_node = "n" * 80
    owner = process_owner(long_node, 4242, _fake_proc(tmp_path, {4242: ("S", 123456789)}))
    assert len(owner) == 64
    assert owner.endswith(":4242:123456789")  # the numbers whole; the name cut
    assert not is_dead(owner, long_node, lambda pid: None)


def test_the_real_proc_tells_a_dead_child_from_this_live_process(db: Database) -> None:
    child = subprocess.Popen(["sleep", "30"])
    dead = process_owner(NODE, child.pid)
    child.kill()
    child.wait()
    alive = process_owner(NODE)
    assert parse_owner(alive) == (NODE, os.getpid(), start_time(os.getpid()))
    assert not is_dead(alive, NODE, start_time)
    assert is_dead(dead, NODE, start_time)
    # This pid with another start time is a process that died before this one took its pid.
    assert is_dead(f"{NODE}:{os.getpid()}:{(start_time(os.getpid()) or 0) + 1}", NODE, start_time)
    _lease_one_of_each(db, dead, 1)
    with db.write() as conn:
        assert release_dead_owners(conn, NODE).get("receipts") == 1
    with db.read() as conn:
        assert conn.execute(select(cases.c.id)).all()  # nothing else was touched
