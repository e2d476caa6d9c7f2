"""The daemon as a process: SIGKILL in a burst loses and doubles nothing; SIGTERM drains; logs are JSON."""

from __future__ import annotations

import json
import signal
import smtplib
import threading
from collections.abc import Iterator
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.store.db import Database, make_engine
from gateway.store.tables import cases
from tests.support.daemon import wait_for
from tests.support.mail import make_mail, receipt_mail, settled
from tests.support.process import DaemonProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def processes(tmp_path: Path, database_url: str, config_dir: Path) -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for p in started:
        p.stop()


def _burst(port: int, senders: int, per_sender: int, accepted: list[str], stop: threading.Event) -> None:
    """Each sender opens one connection and sends until it is cut off; a 250 records the Message-ID."""

    def sender(n: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                for i in range(per_sender):
                    if stop.is_set():
                        return
                    msg = make_mail(
                        sender=f"asukas{n}-{i}@example.fi", body=f"Kuoppa numero {i} kadulla {n}."
                    )
                    msg.replace_header(
                        "Message-ID", make_msgid(idstring=f"burst{n}x{i}", domain="example.fi")
                    )
                    client.send_message(msg)
                    accepted.append(msg["Message-ID"].strip("<>"))
        except (smtplib.SMTPException, OSError):
            return  # the daemon died under us: this message got no 250

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_sigkill_during_a_burst_loses_nothing_and_doubles_nothing(
    processes: list[DaemonProcess], tmp_path: Path, database_url: str, config_dir: Path
) -> None:
    first = DaemonProcess(tmp_path, database_url, config_dir, notices_per_recipient_per_hour="1000")
    processes.append(first.start())
    accepted: list[str] = []
    stop = threading.Event()
    burst = threading.Thread(target=_burst, args=(first.port, 6, 60, accepted, stop))
    burst.start()
    wait_for(lambda: len(accepted) >= 60, 60, "some accepted mail")
    first.signal(signal.SIGKILL)
    burst.join(60)
    assert first.wait() == -signal.SIGKILL
    killed_at = len(accepted)
    assert 60 <= killed_at < 360, "the kill should land in the middle of the burst"

    second = DaemonProcess(tmp_path, database_url, config_dir, notices_per_recipient_per_hour="1000")
    processes.append(second.start())
    db = Database(make_engine(database_url))
    try:
        wait_for(lambda: settled(db), 60, "the restarted daemon to finish the work")
        with db.read() as conn:
            case_ids = [r.message_id for r in conn.execute(select(cases.c.message_id))]
    finally:
        db.dispose()
    receipts_sent = [m["In-Reply-To"].strip("<>") for m in receipt_mail(tmp_path / "outbox")]
    for message_id in accepted:
        assert case_ids.count(message_id) == 1, (
            f"{message_id} got 250 but has {case_ids.count(message_id)} cases"
        )
        assert receipts_sent.count(message_id) == 1, (
            f"{message_id}: {receipts_sent.count(message_id)} receipts"
        )
    # Mail cut off before its 250 may or may not have been stored; it must never be doubled either.
    assert len(case_ids) == len(set(case_ids))
    assert len(receipts_sent) == len(set(receipts_sent)) == len(case_ids)


@pytest.mark.parametrize("workers", ["1", "3"])
def test_sigterm_finishes_what_is_in_hand_and_exits_0(
    processes: list[DaemonProcess], tmp_path: Path, database_url: str, config_dir: Path, workers: str
) -> None:
    """One worker runs every loop; of three, the intake workers stop before the one that delivers."""
    daemon = DaemonProcess(tmp_path, database_url, config_dir, workers=workers)
    processes.append(daemon.start())
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        for i in range(20):
            client.send_message(make_mail(sender=f"asukas{i}@example.fi"))
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    # Every accepted message became a case and its receipt went out before the process exited.
    assert len(receipt_mail(tmp_path / "outbox")) == 20
    assert not _listening_after_exit(daemon.port)


def _nice(pid: int) -> int:
    """A process's nice value, from /proc (field 19 of stat, counted after the parenthesised name)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def _listening_after_exit(port: int) -> bool:
    from tests.support.process import listening

    return listening(port)


def test_logs_are_json_lines_with_the_case_code(
    processes: list[DaemonProcess], tmp_path: Path, database_url: str, config_dir: Path
) -> None:
    daemon = DaemonProcess(tmp_path, database_url, config_dir, log_level="DEBUG")
    processes.append(daemon.start())
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.send_message(make_mail())
    wait_for(lambda: receipt_mail(tmp_path / "outbox"), what="the receipt")
    # The workers run at a lower priority than the process that accepts mail (worker_niceness = 5).
    running = [json.loads(line) for line in daemon.log.read_text().splitlines() if line.strip()]
    pids = [e["pid"] for e in running if e["event"] == "worker started"]
    assert daemon.proc is not None and pids
    assert all(_nice(pid) == _nice(daemon.proc.pid) + 5 for pid in pids)
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    lines = [json.loads(line) for line in daemon.log.read_text().splitlines() if line.strip()]
    processed = [e for e in lines if e["event"] == "receipt processed"]
    assert processed and processed[0]["case"].startswith("HEL-")
    assert processed[0]["level"] == "info" and "timestamp" in processed[0]
    # aiosmtpd's own stdlib logger comes through the same JSON renderer.
    assert any(e.get("logger") == "mail.log" for e in lines)
    # By default one worker delivers mail and fires deadlines, and one (SQLite) or two (PostgreSQL) take
    # receipts in.
    started = sorted(e["loops"] for e in lines if e["event"] == "worker started")
    intake = ["intake"] * (1 if database_url.startswith("sqlite") else 2)
    assert started == [*intake, "outbox,deadlines"]
