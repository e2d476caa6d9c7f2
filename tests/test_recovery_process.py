"""Issue 13: after a crash, a restart on the same node takes over the dead processes' leases at once.

With the shipped leases (60 s for receipts, 5 min for outbox mail), a restart used to leave the mail the
killed processes had claimed untouched until the leases ran out. Here the whole process group is killed
in a burst and the restarted daemon must finish every accepted mail within seconds.
"""

from __future__ import annotations

import signal
import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.store.db import Database, make_engine
from gateway.store.tables import cases, outbox, receipts
from tests.support.daemon import wait_for
from tests.support.mail import count, make_mail, receipt_mail
from tests.support.process import DaemonProcess

pytestmark = pytest.mark.slow

RECOVERY_S = 10.0  # the issue asks for "a few seconds"; the leases alone would take 60 s and 5 min
SHIPPED_LEASES = {"intake_lease_seconds": "60", "outbox_lease_seconds": "300"}
WORKERS = 2


@pytest.fixture
def processes() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for p in started:
        p.stop()


def _delivered(db: Database, accepted: list[str]) -> bool:
    """Every accepted mail has its case, and the case's receipt and hand-over were sent."""
    with db.read() as conn:
        rows = conn.execute(
            select(cases.c.message_id, outbox.c.kind)
            .select_from(cases.join(outbox, outbox.c.case_id == cases.c.id))
            .where(outbox.c.state == "sent", outbox.c.kind.in_(("receipt", "forward")))
        ).all()
    sent = {(r.message_id, r.kind) for r in rows}
    return all((m, kind) in sent for m in accepted for kind in ("receipt", "forward"))


def _paced_burst(port: int, senders: int, accepted: list[str], stop: threading.Event) -> None:
    """Senders on one connection each, at a pace intake keeps up with (a few dozen a second), until
    *stop* or until the daemon dies under them; a 250 records the Message-ID."""

    def sender(n: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    msg = make_mail(sender=f"asukas{n}-{i}@example.fi", body=f"Kuoppa {i} kadulla {n}.")
                    client.send_message(msg)
                    accepted.append(msg["Message-ID"].strip("<>"))
                    time.sleep(0.1)
        except (smtplib.SMTPException, OSError):
            return  # the daemon died under us: this message got no 250

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def _workers_running(daemon: DaemonProcess) -> int:
    """How many worker processes have logged that they run, in this log of both daemons' lives."""
    lines = daemon.log.read_text().splitlines()
    return sum(1 for line in lines if '"gateway running"' in line and '"role": "work"' in line)


def _held(db: Database) -> dict[str, int]:
    now = datetime.now(UTC)
    return {t.name: count(db, t, t.c.state == "pending", t.c.lease_until > now) for t in (receipts, outbox)}


def _freeze_with_leases_held(daemon: DaemonProcess, db: Database) -> dict[str, int]:
    """Stop the daemon's process group at a moment when it holds receipt (and ideally outbox) leases."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        daemon.kill_group(signal.SIGSTOP)
        held = _held(db)
        if held["receipts"] and (held["outbox"] or time.monotonic() > deadline - 15):
            return held
        daemon.kill_group(signal.SIGCONT)
        time.sleep(0.05)
    daemon.kill_group(signal.SIGSTOP)
    return _held(db)


def test_a_restart_after_sigkill_takes_the_dead_processes_leases_over_at_once(
    processes: list[DaemonProcess], tmp_path: Path, config_dir: Path
) -> None:
    url = f"sqlite:///{tmp_path}/gateway.db"  # the single SQLite node of the issue
    settings = {**SHIPPED_LEASES, "workers": str(WORKERS), "notices_per_recipient_per_hour": "1000"}
    first = DaemonProcess(tmp_path, url, config_dir, **settings)
    processes.append(first.start())
    accepted: list[str] = []
    stop = threading.Event()
    burst = threading.Thread(target=_paced_burst, args=(first.port, 3, accepted, stop))
    burst.start()
    db = Database(make_engine(url))
    try:
        wait_for(lambda: count(db, outbox, outbox.c.state == "sent") >= 20, 60, "the daemon at work")
        # Freeze the group until its processes are seen holding claims (receipts and, if it comes, outbox
        # mail), then kill it: the crash lands with leases in hand on every run, not by luck of timing.
        held = _freeze_with_leases_held(first, db)
        first.kill_group(signal.SIGKILL)
        burst.join(60)
        assert first.wait() == -signal.SIGKILL
        stop.set()
        assert held.get("receipts"), f"the dead processes held no receipt leases: {held}"

        second = DaemonProcess(tmp_path, url, config_dir, **settings)
        processes.append(second.start())
        restarted = time.monotonic()
        # Counted from the moment the restarted workers run: starting Python processes takes seconds of
        # its own on a busy machine (up to 9 s seen with six test suites on two cores), leases or not.
        wait_for(lambda: _workers_running(second) == 2 * WORKERS, 60, "the restarted workers")
        ready = time.monotonic()
        wait_for(lambda: _delivered(db, accepted), RECOVERY_S, "every accepted mail delivered")
        done = time.monotonic()
        print(
            f"\n{len(accepted)} accepted, leases held at the kill: {held}; all delivered"
            f" {done - ready:.2f} s after the workers ran, {done - restarted:.2f} s after the restart"
        )
        with db.read() as conn:
            case_ids = [r.message_id for r in conn.execute(select(cases.c.message_id))]
    finally:
        db.dispose()
    receipts_sent = [m["In-Reply-To"].strip("<>") for m in receipt_mail(tmp_path / "outbox")]
    for message_id in accepted:
        assert case_ids.count(message_id) == 1, message_id
        assert receipts_sent.count(message_id) == 1, message_id
