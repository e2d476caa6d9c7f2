"""Intake end to end: how follow-ups, strangers, automatic mail, loops and poison messages are treated."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from gateway.intake import parsers as parsers_module
from gateway.mail import parse
from gateway.model import InboundMessage, NewReceipt
from gateway.notifier.outbound import Mail, Outbound
from gateway.rules.live import LiveConfig, read_config
from gateway.runtime.build import Gateway
from gateway.store import migrate
from gateway.store import receipts as receipt_store
from gateway.store.db import Database, make_engine
from gateway.store.tables import cases, outbox, outbox_bodies, receipts
from tests.support.daemon import RunningDaemon, make_settings, wait_for
from tests.support.mail import all_cases, count, events_of, make_mail, receipt_mail, send, settled


def _first_case(gateway: RunningDaemon, sender: str = "matti@example.fi") -> tuple[Any, EmailMessage]:
    send(gateway.port, make_mail(sender=sender))
    [receipt] = wait_for(lambda: receipt_mail(gateway.maildir), what="the receipt")
    [case] = all_cases(gateway.db)
    return case, receipt


def _reply_to(receipt: EmailMessage, sender: str, body: str, **headers: str) -> EmailMessage:
    return make_mail(
        sender=sender,
        subject="Re: " + str(receipt["Subject"]),
        body=body,
        In_Reply_To=str(receipt["Message-ID"]),
        References=str(receipt["Message-ID"]),
        **headers,
    )


def test_a_residents_reply_to_the_receipt_joins_the_case(gateway: RunningDaemon) -> None:
    case, receipt = _first_case(gateway)
    send(gateway.port, _reply_to(receipt, "matti@example.fi", "Lisäksi katuvalo on rikki.\n\n> vanha teksti"))
    wait_for(lambda: len(events_of(gateway.db, case.id)) >= 3, what="the follow-up")
    assert count(gateway.db, cases) == 1
    follow_up = events_of(gateway.db, case.id)[-1]
    assert follow_up.kind == "follow-up"
    assert "katuvalo" in follow_up.text and "vanha teksti" not in follow_up.text
    assert len(receipt_mail(gateway.maildir)) == 1  # a follow-up gets no second receipt


def test_tracking_code_in_subject_from_the_resident_is_a_follow_up(gateway: RunningDaemon) -> None:
    case, _ = _first_case(gateway)
    send(gateway.port, make_mail(subject=f"Asia {case.code.lower()}", body="Tilanne on yhä sama."))
    wait_for(lambda: events_of(gateway.db, case.id)[-1].kind == "follow-up", what="the follow-up")
    assert count(gateway.db, cases) == 1


def test_tracking_code_in_the_plus_address_from_the_resident_is_a_follow_up(gateway: RunningDaemon) -> None:
    case, _ = _first_case(gateway)
    rcpt = f"palaute+{case.code.lower()}@hel.example"
    send(gateway.port, make_mail(to=rcpt, subject="lisää", body="Vielä yksi asia."), rcpt=rcpt)
    wait_for(lambda: events_of(gateway.db, case.id)[-1].kind == "follow-up", what="the follow-up")
    assert count(gateway.db, cases) == 1


def test_a_stranger_quoting_a_tracking_code_opens_a_case_of_their_own(gateway: RunningDaemon) -> None:
    case, receipt = _first_case(gateway)
    send(gateway.port, _reply_to(receipt, "stranger@example.com", "Haluan nähdä tämän asian tiedot."))
    wait_for(lambda: count(gateway.db, cases) == 2, what="the stranger's own case")
    assert all(e.actor != "stranger@example.com" for e in events_of(gateway.db, case.id))
    stranger_case = all_cases(gateway.db)[1]
    assert stranger_case.resident_email == "stranger@example.com"
    assert stranger_case.code != case.code


def test_an_out_of_office_reply_is_kept_on_the_case_and_never_answered(gateway: RunningDaemon) -> None:
    case, receipt = _first_case(gateway)
    ooo = _reply_to(receipt, "matti@example.fi", "Olen lomalla 1.12. asti.", Auto_Submitted="auto-replied")
    ooo.replace_header("Subject", "Automaattinen vastaus: " + str(receipt["Subject"]))
    send(gateway.port, ooo)
    wait_for(lambda: events_of(gateway.db, case.id)[-1].kind == "automatic", what="the automatic event")
    wait_for(lambda: settled(gateway.db), what="settling")
    assert count(gateway.db, cases) == 1
    assert len(receipt_mail(gateway.maildir)) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"List_Id": "<tiedote.example.fi>"},
        {"X_Autoreply": "yes"},
    ],
)
def test_automatic_mail_opens_no_case_and_gets_no_receipt(
    gateway: RunningDaemon, headers: dict[str, str]
) -> None:
    send(gateway.port, make_mail(subject="Uutiskirje", **headers))
    wait_for(lambda: count(gateway.db, receipts, receipts.c.state == "done") == 1, what="processing")
    assert count(gateway.db, cases) == 0
    assert receipt_mail(gateway.maildir) == []


def test_mail_from_the_null_sender_gets_no_receipt(gateway: RunningDaemon) -> None:
    # An ordinary-looking From: only the envelope's null reverse-path says it is automatic (RFC 3834).
    send(gateway.port, make_mail(sender="Palvelu <palvelu@example.fi>"), mail_from="")
    wait_for(lambda: count(gateway.db, receipts, receipts.c.state == "done") == 1, what="processing")
    assert receipt_mail(gateway.maildir) == []


def test_our_own_receipt_coming_back_is_dropped(gateway: RunningDaemon) -> None:
    _, receipt = _first_case(gateway)
    del receipt["X-Envelope-From"], receipt["X-Envelope-To"]
    send(gateway.port, receipt, rcpt="palaute@hel.example", mail_from="palaute@hel.example")
    wait_for(lambda: count(gateway.db, receipts, receipts.c.outcome == "loop") == 1, what="the loop drop")
    assert count(gateway.db, cases) == 1
    assert len(receipt_mail(gateway.maildir)) == 1


def test_a_bounce_of_our_receipt_is_recorded_on_its_case(gateway: RunningDaemon) -> None:
    case, receipt = _first_case(gateway)
    returned_headers = bytes(receipt).split(b"\n\n", 1)[0].decode()
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.fi>\r\n"
        "To: palaute@hel.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.fi')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.fi\r\n\r\n"
        "Final-Recipient: rfc822; matti@example.fi\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n{returned_headers}\r\n"
        "--b1--\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.sendmail("", ["palaute@hel.example"], dsn)
    wait_for(lambda: events_of(gateway.db, case.id)[-1].kind == "automatic", what="the bounce event")
    assert events_of(gateway.db, case.id)[-1].data["kind"] == "bounce"
    assert count(gateway.db, cases) == 1
    assert len(receipt_mail(gateway.maildir)) == 1


def test_receipts_are_rate_limited_per_sender(start_gateway: Callable[..., RunningDaemon]) -> None:
    gateway = start_gateway(notices_per_recipient_per_hour=3)
    for i in range(5):
        send(gateway.port, make_mail(subject=f"Asia {i}", body=f"Kuopat kadulla, paikka {i}."))
    wait_for(lambda: count(gateway.db, cases) == 5 and settled(gateway.db), what="five cases")
    assert len(receipt_mail(gateway.maildir)) == 3
    send(gateway.port, make_mail(sender="liisa@example.fi"))
    wait_for(lambda: len(receipt_mail(gateway.maildir)) == 4, what="another sender's receipt")


def test_a_poison_message_is_parked_alone_and_can_be_replayed(
    gateway: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fragile(raw: bytes, **kwargs: Any) -> InboundMessage:
        if b"POISON" in raw:
            raise ValueError("the parser choked")
        return parse(raw, **kwargs)

    monkeypatch.setattr(parsers_module, "parse", fragile)
    send(gateway.port, make_mail(subject="POISON"))
    send(gateway.port, make_mail(subject="Kuoppa", sender="liisa@example.fi"))
    wait_for(
        lambda: count(gateway.db, receipts, receipts.c.state == "parked") == 1, what="the parked receipt"
    )
    wait_for(lambda: count(gateway.db, cases) == 1, what="the healthy message's case")
    [(_, _, error)] = receipt_store.list_parked(gateway.db)
    assert "the parser choked" in error
    monkeypatch.undo()
    assert receipt_store.requeue_parked(gateway.db) == 1
    wait_for(lambda: count(gateway.db, cases) == 2, what="the replayed case")
    assert count(gateway.db, receipts, receipts.c.state == "parked") == 0


def _worker_with_receipts(
    tmp_path: Path, database_url: str, config_dir: Path, mails: list[EmailMessage], **settings: Any
) -> tuple[Database, Gateway]:
    """A worker's parts (not running) and *mails* committed as receipts, as the SMTP channel would."""
    db = Database(make_engine(database_url))
    migrate.upgrade(db)
    config = make_settings(tmp_path, database_url, config_dir=config_dir, **settings)
    worker = Gateway(config, LiveConfig(config, read_config(config)), db)
    with db.write() as conn:
        receipt_store.insert_receipts(
            conn,
            [
                NewReceipt("smtp", m.as_bytes(), m["From"].addresses[0].addr_spec, ("palaute@hel.example",))
                for m in mails
            ],
            datetime.now(UTC),
        )
    return db, worker


def test_intake_settles_every_message_while_a_senders_receipt_waits_for_sqlites_lock(
    tmp_path: Path, database_url: str, config_dir: Path
) -> None:
    """While the receipt writer's sign is up (decision 0015) intake steps aside between messages, and still
    settles the whole round: every message gets its case. (How many commits that takes, on SQLite and on
    PostgreSQL, is counted by bench/intake_commits.py.)"""
    mails = [make_mail(sender=f"asukas{i}@example.fi", subject=f"Kuoppa {i}") for i in range(4)]
    db, worker = _worker_with_receipts(tmp_path, database_url, config_dir, mails, intake_commit_ms=10_000.0)
    try:
        db.turns.raise_()
        try:
            assert worker.intake.run_once(16) == 4
        finally:
            db.turns.lower()
        assert [case.resident_email for case in all_cases(db)] == [f"asukas{i}@example.fi" for i in range(4)]
        assert count(db, receipts, receipts.c.state == "done") == 4
    finally:
        db.dispose()


@pytest.mark.parametrize("commit_ms", [0.0, 10_000.0], ids=["commits-after-each-message", "one-transaction"])
def test_a_poison_message_in_a_round_is_parked_alone_and_every_other_one_gets_its_case(
    tmp_path: Path,
    database_url: str,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    commit_ms: float,
) -> None:
    """Whether intake commits after each message (no time allowed) or settles the round in one transaction
    that fails at the poison message and falls back to one message at a time (decision 0016), the poison
    message alone is parked and every other one becomes its case. (The commits of each way are counted by
    bench/intake_commits.py.)"""
    mails = [
        make_mail(sender=f"asukas{i}@example.fi", subject="POISON" if i == 2 else f"Kuoppa {i}")
        for i in range(5)
    ]
    db, worker = _worker_with_receipts(tmp_path, database_url, config_dir, mails, intake_commit_ms=commit_ms)

    def fragile(raw: bytes, **kwargs: Any) -> InboundMessage:
        if b"POISON" in raw:
            raise ValueError("the parser choked")
        return parse(raw, **kwargs)

    monkeypatch.setattr(parsers_module, "parse", fragile)
    try:
        assert worker.intake.run_once(16) == 5
        [(_, _, error)] = receipt_store.list_parked(db)
        assert "the parser choked" in error
        assert [case.resident_email for case in all_cases(db)] == [
            f"asukas{i}@example.fi" for i in (0, 1, 3, 4)
        ]
        assert count(db, receipts, receipts.c.state == "done") == 4
    finally:
        db.dispose()


def _queued(db: Database) -> list[tuple[str, bytes]]:
    """(kind, composed mail) of every outbox row, in order."""
    with db.read() as conn:
        rows = conn.execute(
            select(outbox.c.kind, outbox_bodies.c.body)
            .join(outbox_bodies, outbox_bodies.c.outbox_id == outbox.c.id)
            .order_by(outbox.c.id)
        ).all()
    return [(row.kind, bytes(row.body)) for row in rows]


def test_a_new_cases_mail_is_composed_before_intake_takes_the_write_lock(
    tmp_path: Path, database_url: str, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 0016: for a message that looks like new feedback, routing and composing its receipt and
    hand-over happen before the write transaction, which then only stores them; a message that names its
    case is worked out inside the transaction, as before."""
    first = make_mail(sender="matti@example.fi", subject="Kuoppa Mannerheimintiellä")
    db, worker = _worker_with_receipts(tmp_path, database_url, config_dir, [first])
    open_writes: list[object] = []
    in_write: list[bool] = []  # at each composing: was a write transaction open?

    def began(conn: Any) -> None:
        if not conn.get_execution_options().get("readonly", False):
            open_writes.append(conn)

    event.listen(db.engine, "begin", began)
    event.listen(db.engine, "commit", lambda conn: open_writes.clear())
    event.listen(db.engine, "rollback", lambda conn: open_writes.clear())
    compose = Outbound.compose  # every mail is composed there (the planner's ahead of time too)

    def watched(out: Outbound, mail: Mail, now: datetime) -> bytes:
        in_write.append(bool(open_writes))
        return compose(out, mail, now)

    monkeypatch.setattr(Outbound, "compose", watched)
    try:
        assert worker.intake.run_once(16) == 1
        [case] = all_cases(db)
        queued = _queued(db)
        assert [kind for kind, _ in queued] == ["receipt", "forward"]
        assert in_write == [False, False]  # each composed once, ahead of the transaction
        receipt = message_from_bytes(queued[0][1], policy=policy.default)
        assert f"[{case.code}]" in str(receipt["Subject"])
        assert str(receipt["In-Reply-To"]) == str(first["Message-ID"])

        in_write.clear()
        follow_up = make_mail(
            sender="matti@example.fi", subject=f"Re: [{case.code}]", body="Vielä yksi asia."
        )
        with db.write() as conn:
            item = NewReceipt("smtp", follow_up.as_bytes(), "matti@example.fi", ("palaute@hel.example",))
            receipt_store.insert_receipts(conn, [item], datetime.now(UTC))
        assert worker.intake.run_once(16) == 1
        assert count(db, cases) == 1
        assert [kind for kind, _ in _queued(db)] == ["receipt", "forward", "follow-up"]
        assert in_write == [True]  # the follow-up to the handler: composed in the transaction
    finally:
        db.dispose()
