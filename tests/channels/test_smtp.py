"""The SMTP channel against a real client: Python's smtplib talking to the daemon's aiosmtpd server."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable

import pytest
from sqlalchemy import text

from gateway.store.tables import cases, receipts
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, count, forward_mail, make_mail, receipt_mail, send, settled


def test_accepted_mail_becomes_one_case_and_one_receipt(gateway: RunningDaemon) -> None:
    msg = make_mail()
    assert send(gateway.port, msg) == {}
    wait_for(lambda: len(receipt_mail(gateway.maildir)) == 1, what="the receipt")
    [case] = all_cases(gateway.db)
    assert case.resident_email == "matti@example.fi"
    assert case.resident_name == "Matti Meikäläinen"
    assert case.subject == "Lunta kadulla"
    assert "puoli metriä lunta" in case.text
    [receipt] = receipt_mail(gateway.maildir)
    assert receipt["To"].addresses[0].addr_spec == "matti@example.fi"
    assert receipt["Subject"].startswith(f"[{case.code}] ")
    assert receipt["In-Reply-To"] == msg["Message-ID"]
    assert msg["Message-ID"] in receipt["References"]
    assert receipt["Auto-Submitted"] == "auto-replied"
    assert receipt["X-Auto-Response-Suppress"] == "All"
    assert receipt["From"].addresses[0].addr_spec == "palaute@hel.example"
    assert case.code in receipt.get_content()


@pytest.mark.parametrize("rcpt", ["palaute@hel.example", "Feedback@HEL.example", "palaute+talvi@hel.example"])
def test_city_addresses_and_their_plus_addresses_are_accepted(gateway: RunningDaemon, rcpt: str) -> None:
    assert send(gateway.port, make_mail(to=rcpt), rcpt=rcpt) == {}
    wait_for(lambda: count(gateway.db, cases) == 1, what="the case")


@pytest.mark.parametrize(
    "rcpt", ["someone@elsewhere.example", "kirjaamo@hel.example", "palaute@hel.example.evil", "palaute"]
)
def test_other_recipients_are_refused_and_we_never_relay(gateway: RunningDaemon, rcpt: str) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        client.mail("spammer@example.com")
        code, reply = client.rcpt(rcpt)
    assert code == 550
    assert reply.startswith(b"5.1.1")
    assert count(gateway.db, receipts) == 0


def test_malformed_addresses_get_553_and_the_session_goes_on(gateway: RunningDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        assert client.docmd("MAIL FROM:<not an address@@>")[0] == 553
        assert client.docmd("MAIL FROM:")[0] == 501
        assert client.docmd("MAIL FROM:<>")[0] == 250  # the null reverse-path of bounces
        assert client.docmd("RCPT TO:<palaute@@hel.example>")[0] == 553
        assert client.docmd("RCPT TO:palaute@hel.example")[0] == 250  # without angle brackets too
        code, _ = client.data(make_mail().as_bytes())
    assert code == 250
    wait_for(lambda: count(gateway.db, receipts, receipts.c.mail_from == "") == 1, what="the receipt")


def test_a_connection_lost_during_data_stores_nothing_and_the_server_goes_on(gateway: RunningDaemon) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port)) as raw:
        reader = raw.makefile("rb")
        reader.readline()  # 220
        for command in (
            b"EHLO client.example",
            b"MAIL FROM:<matti@example.fi>",
            b"RCPT TO:<palaute@hel.example>",
        ):
            raw.sendall(command + b"\r\n")
            while (line := reader.readline())[3:4] == b"-":  # multi-line replies
                pass
            assert line[:1] in (b"2",), line
        raw.sendall(b"DATA\r\n")
        assert reader.readline().startswith(b"354")
        raw.sendall(b"Subject: half\r\n\r\nthe first half of a message, then the line drops\r\n")
    assert send(gateway.port, make_mail()) == {}  # the next sender is served
    wait_for(lambda: count(gateway.db, receipts) == 1 and settled(gateway.db), what="the whole mail")
    [case] = all_cases(gateway.db)
    assert case.subject == "Lunta kadulla"


def test_one_mail_to_two_city_addresses_is_one_case(gateway: RunningDaemon) -> None:
    msg = make_mail(to="palaute@hel.example, feedback@hel.example")
    assert send(gateway.port, msg) == {}
    wait_for(lambda: settled(gateway.db) and len(receipt_mail(gateway.maildir)) == 1, what="settling")
    assert count(gateway.db, cases) == 1


def test_the_same_mail_delivered_twice_is_one_case(gateway: RunningDaemon) -> None:
    msg = make_mail()
    send(gateway.port, msg, rcpt="palaute@hel.example")
    send(gateway.port, msg, rcpt="feedback@hel.example")  # e.g. a second route, or a retry after a lost 250
    wait_for(lambda: count(gateway.db, receipts, receipts.c.state == "done") == 2, what="both receipts")
    assert count(gateway.db, cases) == 1
    assert count(gateway.db, receipts, receipts.c.outcome == "duplicate") == 1


def test_oversized_mail_gets_552_and_is_not_stored(start_gateway: Callable[..., RunningDaemon]) -> None:
    gateway = start_gateway(max_message_size=20_000)
    big = make_mail(body="lunta " * 10_000)
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        # Without SIZE= in MAIL FROM, so that the limit is enforced while the data arrives.
        client.ehlo()
        client.mail("matti@example.fi")
        client.rcpt("palaute@hel.example")
        code, _ = client.data(big.as_bytes())
    assert code == 552
    assert count(gateway.db, receipts) == 0


def test_size_declared_too_big_is_refused_at_mail_from(start_gateway: Callable[..., RunningDaemon]) -> None:
    gateway = start_gateway(max_message_size=20_000)
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        code, _ = client.mail("matti@example.fi", options=["SIZE=50000"])
    assert code == 552


def test_lines_longer_than_1000_bytes_are_accepted(gateway: RunningDaemon) -> None:
    long_line = "Lunta " + "x" * 5000
    raw = (
        "From: matti@example.fi\r\nTo: palaute@hel.example\r\nSubject: long\r\n"
        "Message-ID: <long-line@example.fi>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<p>{long_line}</p>\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        assert client.sendmail("matti@example.fi", ["palaute@hel.example"], raw) == {}
    wait_for(lambda: count(gateway.db, cases) == 1, what="the case")
    assert "x" * 5000 in all_cases(gateway.db)[0].text


def test_storage_failure_answers_451_and_the_retry_succeeds(gateway: RunningDaemon) -> None:
    with gateway.db.write() as conn:  # take the receipts table away under the running daemon
        conn.execute(text("ALTER TABLE receipts RENAME TO receipts_away"))
    with pytest.raises(smtplib.SMTPDataError) as err:
        send(gateway.port, make_mail())
    assert err.value.smtp_code == 451
    assert err.value.smtp_error.startswith(b"4.3.0")
    assert b"Traceback" not in err.value.smtp_error
    with gateway.db.write() as conn:
        conn.execute(text("ALTER TABLE receipts_away RENAME TO receipts"))
    assert send(gateway.port, make_mail()) == {}  # what a sending MTA does after a 4xx
    wait_for(lambda: count(gateway.db, cases) == 1, what="the case after the retry")


def test_internal_error_answers_451_without_a_traceback(
    gateway: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:

    async def broken(item: object) -> int:
        raise RuntimeError("a bug with a secret inside")

    monkeypatch.setattr(gateway.parts.writer, "receive", broken)
    with pytest.raises(smtplib.SMTPDataError) as err:
        send(gateway.port, make_mail())
    assert err.value.smtp_code == 451
    assert b"secret" not in err.value.smtp_error and b"RuntimeError" not in err.value.smtp_error
    monkeypatch.undo()
    assert send(gateway.port, make_mail()) == {}  # the server lives on


def test_8bit_and_smtputf8_mail_is_accepted(gateway: RunningDaemon) -> None:
    raw = (
        "From: Åsa Öberg <åsa@exempel.se>\r\nTo: palaute@hel.example\r\nSubject: Snö på gatan\r\n"
        "Message-ID: <utf8@exempel.se>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nDet ligger mycket snö på gatan och ingen har plogat den.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        assert (
            client.sendmail("åsa@exempel.se", ["palaute@hel.example"], raw, mail_options=["SMTPUTF8"]) == {}
        )
    [receipt] = wait_for(lambda: receipt_mail(gateway.maildir), what="the receipt")
    [case] = all_cases(gateway.db)
    assert case.subject == "Snö på gatan"
    assert case.language == "sv"
    assert "respons" in receipt.get_content()  # the Swedish template


@pytest.mark.parametrize("rcpt", ["postmaster@hel.example", "Postmaster@HEL.example", "abuse@hel.example"])
def test_role_addresses_are_accepted_and_go_to_operations_whatever_the_words(
    start_gateway: Callable[..., RunningDaemon], rcpt: str
) -> None:
    """RFC 5321 §4.5.1: postmaster must be accepted at every domain we serve (it was refused with 550)."""
    gateway = start_gateway(role_department="talvi")
    msg = make_mail(to=rcpt, subject="Your server", body="Your server sends us spam. Lunta kadulla!")
    assert send(gateway.port, msg, rcpt=rcpt) == {}
    [case] = wait_for(lambda: all_cases(gateway.db), what="the case")
    assert case.department == "talvi"
    assert case.decision["rule"] == "role-address"
    wait_for(lambda: forward_mail(gateway.maildir), what="the hand-over to operations")
    assert receipt_mail(gateway.maildir) == []  # mail to postmaster is not answered


@pytest.mark.parametrize("rcpt", ["postmaster@elsewhere.example", "webmaster@hel.example", "postmaster@hel"])
def test_role_addresses_elsewhere_or_not_configured_are_refused(gateway: RunningDaemon, rcpt: str) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        client.mail("someone@example.com")
        assert client.rcpt(rcpt)[0] == 550
