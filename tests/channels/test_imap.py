"""The IMAP channel against a real Dovecot: mail appended by the outside world becomes receipts, once."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from gateway.channels.imap import ImapReader
from gateway.errors import SettingsError
from gateway.intake.mailbox_desk import MailboxDesk
from gateway.settings.mailboxes import MailboxSettings, Tls, parse_mailboxes
from gateway.store.db import Database
from gateway.store.tables import mailboxes, receipt_bodies, receipts
from tests.support.daemon import Clock, wait_for
from tests.support.dovecot import PASSWORD, Dovecot, dovecot_binary
from tests.support.mail import count, make_mail
from tests.support.servers import missing_server

STOP_WITHIN = 8.0  # seconds: run() must return promptly once asked to stop


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[Dovecot]:
    if dovecot_binary() is None:
        missing_server("no dovecot binary: apt-get install dovecot-imapd (CI installs it)")
    server = Dovecot()
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The module's Dovecot, running, with a fresh account (an empty mailbox) for this test."""
    if dovecot_server.proc is None:  # a test stopped it and failed before starting it again
        dovecot_server.start()
    dovecot_server.new_user()
    return dovecot_server


def settings_for(server: Dovecot, **overrides: Any) -> MailboxSettings:
    base = MailboxSettings(
        name="palaute",
        host="127.0.0.1",
        user=server.user,
        password=PASSWORD,
        port=server.port,
        tls=Tls.NONE,
        address="palaute@hel.example",
        poll_seconds=0.2,
        idle_seconds=5.0,
        timeout=5.0,
        lease_seconds=3.0,
        backoff_max=0.5,
    )
    return dataclasses.replace(base, **overrides)


class Running:
    """An ImapReader in its own event loop in a thread, as the daemon would run it."""

    def __init__(self, reader: ImapReader) -> None:
        self.reader = reader
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.commits = 0
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._thread.start()
        wait_for(lambda: self.stopping is not None, what="the reader's loop")

    async def _main(self) -> None:
        self.loop, self.stopping = asyncio.get_running_loop(), asyncio.Event()
        await self.reader.run(self.stopping)

    def stop(self) -> None:
        assert self.loop is not None and self.stopping is not None
        self.loop.call_soon_threadsafe(self.stopping.set)
        self._thread.join(STOP_WITHIN)
        assert not self._thread.is_alive(), f"reader did not stop within {STOP_WITHIN} s"


@pytest.fixture
def start_reader(db: Database) -> Iterator[Any]:
    started: list[Running] = []

    def start(mailbox: MailboxSettings, owner: str = "node-a") -> Running:
        holder: list[Running] = []
        reader = ImapReader(mailbox, MailboxDesk(db, Clock(), lambda: _bump(holder)), owner)
        running = Running(reader)
        holder.append(running)
        started.append(running)
        return running

    yield start
    for running in started:
        if running._thread.is_alive():
            running.stop()


def _bump(holder: list[Running]) -> None:
    holder[0].commits += 1


def mail(n: int, **headers: str) -> bytes:
    return make_mail(subject=f"Lunta kadulla {n}", **headers).as_bytes()


def state(db: Database) -> Any:
    with db.read() as conn:
        return conn.execute(select(mailboxes)).one()


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "polling"])
def test_new_mail_is_read_while_the_reader_runs(
    dovecot: Dovecot, db: Database, start_reader: Any, idle: bool
) -> None:
    dovecot.append(mail(0))  # waiting before the reader starts
    running = start_reader(settings_for(dovecot, idle=idle))
    wait_for(lambda: count(db, receipts) == 1, what="the mail that was waiting")
    dovecot.append(mail(1, Return_Path="<matti@example.fi>", Delivered_To="palaute+abc@hel.example"))
    dovecot.append(mail(2, Return_Path="<>"))
    wait_for(lambda: count(db, receipts) == 3, what="the new mail")
    wait_for(lambda: dovecot.count("Processed") == 3, what="the moves")
    assert dovecot.count("INBOX") == 0
    assert running.commits >= 1  # on_commit ran in the reader's event loop
    with db.read() as conn:
        rows = conn.execute(
            select(receipts, receipt_bodies.c.raw)
            .join(receipt_bodies, receipt_bodies.c.receipt_id == receipts.c.id)
            .order_by(receipts.c.id)
        ).all()
    assert [r.channel for r in rows] == ["imap"] * 3
    assert [r.mail_from for r in rows] == [None, "matti@example.fi", ""]
    assert [r.rcpt_tos for r in rows] == [
        ["palaute@hel.example"],
        ["palaute+abc@hel.example"],
        ["palaute@hel.example"],
    ]
    assert {r.peer for r in rows} == {"imap:palaute"}
    assert b"Lunta kadulla 1" in rows[1].raw
    assert state(db).last_uid == 3
    running.stop()
    assert state(db).lease_until is None  # released on a clean stop


def test_a_failed_commit_leaves_the_mail_in_the_inbox_and_it_is_read_later(
    dovecot: Dovecot, db: Database, start_reader: Any
) -> None:
    running = start_reader(settings_for(dovecot))
    wait_for(running.reader.reading.is_set, what="the reader to open the mailbox")
    with db.write() as conn:  # take the receipts table away under the running reader
        conn.execute(text("ALTER TABLE receipts RENAME TO receipts_away"))
    dovecot.append(mail(1))
    wait_for(lambda: state(db).last_error, what="the failure to be recorded")
    assert dovecot.count("INBOX") == 1 and dovecot.count("Processed") == 0
    with db.write() as conn:
        conn.execute(text("ALTER TABLE receipts_away RENAME TO receipts"))
    wait_for(lambda: count(db, receipts) == 1, what="the retry")
    wait_for(lambda: dovecot.count("INBOX") == 0, what="the move after the retry")
    assert dovecot.count("Processed") == 1


def test_a_dovecot_restart_is_survived(dovecot: Dovecot, db: Database, start_reader: Any) -> None:
    start_reader(settings_for(dovecot))
    dovecot.append(mail(1))
    wait_for(lambda: count(db, receipts) == 1, what="the first mail")
    dovecot.stop()  # drops the IDLE connection under the reader
    dovecot.start()
    dovecot.append(mail(2))
    wait_for(lambda: count(db, receipts) == 2, what="the mail after the restart")
    wait_for(lambda: dovecot.count("INBOX") == 0, what="the move")
    assert dovecot.count("Processed") == 2


def test_mail_committed_but_not_moved_is_moved_later_and_never_stored_twice(
    dovecot: Dovecot, db: Database, start_reader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_move = ImapReader._move
    calls: list[int] = []

    def move_failing_once(self: ImapReader, client: Any, uids: list[int]) -> None:
        calls.append(len(uids))
        if len(calls) == 1:
            raise OSError("connection reset while moving")  # after the commit, before the move
        real_move(self, client, uids)

    monkeypatch.setattr(ImapReader, "_move", move_failing_once)
    for n in range(3):
        dovecot.append(mail(n))
    running = start_reader(settings_for(dovecot))
    wait_for(lambda: dovecot.count("Processed") == 3, what="every mail moved")
    running.stop()
    dovecot.append(mail(3))
    start_reader(settings_for(dovecot))  # a second start reads only what is new
    wait_for(lambda: dovecot.count("Processed") == 4, what="the fourth mail")
    assert count(db, receipts) == 4
    assert dovecot.count("INBOX") == 0


def test_a_new_uidvalidity_rescans_the_folder_without_doubles(
    dovecot: Dovecot, db: Database, start_reader: Any
) -> None:
    box = settings_for(dovecot, folder="Palaute")
    old = [mail(1), mail(2)]
    for raw in old:
        dovecot.append(raw, "Palaute")
    running = start_reader(box)
    wait_for(lambda: count(db, receipts) == 2, what="the first two")
    running.stop()
    before = state(db)
    # The folder is recreated (a restore, a migration): UIDs start again at 1. Fresh mail takes the UIDs
    # the reader had already passed, so a reader that trusted its old mark would move it unread.
    dovecot.recreate("Palaute")
    for raw in [mail(3), mail(4), *old, mail(5)]:
        dovecot.append(raw, "Palaute")
    start_reader(box)
    wait_for(lambda: dovecot.count("Palaute") == 0, what="the rescan")
    assert count(db, receipts) == 5  # three new; the two restored ones were already stored
    after = state(db)
    assert after.uidvalidity != before.uidvalidity and after.last_uid == 5


def test_two_nodes_one_mailbox_only_the_lease_holder_reads(
    dovecot: Dovecot, db: Database, start_reader: Any
) -> None:
    a = start_reader(settings_for(dovecot), owner="node-a")
    wait_for(lambda: a.reader.reading.is_set(), what="node-a to take the mailbox")
    b = start_reader(settings_for(dovecot), owner="node-b")
    for n in range(5):
        dovecot.append(mail(n))
    wait_for(lambda: count(db, receipts) == 5, what="five receipts")
    assert a.reader.committed == 5 and b.reader.committed == 0
    assert not b.reader.reading.is_set()
    a.stop()  # releases the lease: node-b takes over without waiting for it to expire
    wait_for(lambda: b.reader.reading.is_set(), what="node-b to take over")
    dovecot.append(mail(5))
    wait_for(lambda: count(db, receipts) == 6, what="the mail node-b reads")
    assert b.reader.committed == 1
    assert state(db).lease_owner == "node-b"


# --------------------------------------------------------------------------- settings


def test_mailboxes_are_parsed_with_defaults_and_the_password_from_the_environment() -> None:
    [box] = parse_mailboxes(
        [
            {
                "host": "imap.hel.example",
                "user": "palaute",
                "password_env": "PW",
                "address": "Palaute@Hel.example",
            }
        ],
        "gateway.toml",
        {"PW": "s3cret"},
    )
    assert (box.name, box.port, box.tls, box.folder, box.processed_folder) == (
        "palaute@imap.hel.example", 993, Tls.IMPLICIT, "INBOX", "Processed"
    )  # fmt: skip
    assert box.password == "s3cret" and "s3cret" not in repr(box)
    assert box.address == "palaute@hel.example"


def test_the_password_can_come_from_a_file_and_starttls_defaults_to_143(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from-file\n")
    [box] = parse_mailboxes(
        [{"host": "h", "user": "u", "tls": "starttls", "password_file": str(tmp_path / "pw"), "idle": False}],
        "env GATEWAY_MAILBOXES",
        {},
    )
    assert (box.password, box.port, box.idle) == ("from-file", 143, False)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"host": "h"}, "gateway.toml: mailboxes must be a list of tables, not dict"),
        ([{"host": "h", "user": "u", "password_env": "PW", "prot": 1}], "mailboxes[0]: unknown key 'prot'"),
        ([{"user": "u", "password_env": "PW"}], "mailboxes[0].host: is required"),
        ([{"host": "h", "user": "u"}], "mailboxes[0]: give exactly one of password_env or password_file"),
        ([{"host": "h", "user": "u", "password_env": "NOPE"}], "NOPE is not set"),
        ([{"host": "h", "user": "u", "password_env": "PW", "tls": "ssl"}], "tls: must be one of"),
        ([{"host": "h", "user": "u", "password_env": "PW", "port": 70000}], "port: 70000 is not a TCP port"),
        ([{"host": "h", "user": "u", "password_env": "PW", "poll_seconds": 0}], "must be greater than 0"),
        (
            [{"host": "h", "user": "u", "password_env": "PW", "folder": "X", "processed_folder": "X"}],
            "must differ",
        ),
        ([{"host": "h", "user": "u", "password_env": "PW"}] * 2, "name 'u@h' is used twice"),
    ],
)
def test_bad_mailbox_settings_are_refused_precisely(raw: object, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_mailboxes(raw, "gateway.toml", {"PW": "x"})
