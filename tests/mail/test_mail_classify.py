"""Automatic mail, bounces, tracking codes, loop header and language: the flags intake relies on."""

from __future__ import annotations

import pytest

from gateway.mail import LOOP_HEADER, detect_language, parse
from gateway.mail.automatic import receipt_withheld
from gateway.model import AutoReplySignal

BODY = b"\n\nKatuvalo on rikki Fleminginkadulla talon 12 kohdalla.\n"


def mail(*headers: str) -> bytes:
    lines = ["From: Matti <matti@example.fi>", "To: palaute@hel.example", *headers]
    return "\n".join(lines).encode() + BODY


STRONG, WEAK, NONE = AutoReplySignal.STRONG, AutoReplySignal.WEAK, AutoReplySignal.NONE


@pytest.mark.parametrize(
    ("header", "signal"),
    [
        ("Auto-Submitted: auto-replied", STRONG),
        ("Auto-Submitted: auto-generated", STRONG),
        ("Auto-Submitted: auto-notified", STRONG),
        ("Auto-Submitted: no", NONE),
        ("Auto-Submitted: No (comment)", NONE),
        ("Precedence: bulk", STRONG),
        ("Precedence: junk", STRONG),
        ("Precedence: list", STRONG),
        ("Precedence: auto_reply", STRONG),
        ("Precedence: first-class", NONE),
        ("List-Id: <asukkaat.example>", STRONG),
        ("X-Autoreply: yes", STRONG),
        ("X-Autorespond: yes", STRONG),
        # It asks us not to auto-reply (so no receipt) but Outlook puts it on ordinary mail too.
        ("X-Auto-Response-Suppress: All", WEAK),
        ("X-Auto-Response-Suppress: DR, OOF, AutoReply", WEAK),
        ("X-Auto-Response-Suppress: DR", NONE),
        # Autoresponder subjects, whole phrases in the shape Outlook/Exchange/Gmail write them.
        ("Subject: Automaattinen vastaus: Katuvalo", WEAK),
        ("Subject: Automatic reply: Street light", WEAK),
        ("Subject: Autosvar: Gatubelysning", WEAK),
        ("Subject: Automatiskt svar: Gatubelysning", WEAK),
        ("Subject: Out of office: Street light", WEAK),
        ("Subject: Out of Office AutoReply: Street light", WEAK),
        ("Subject: Out of office", WEAK),
        ("Subject: Poissa toimistolta", WEAK),
        ("Subject: Poissa toimistolta 1.-14.7.", NONE),
        ("Subject: Poissa: Katuvalo", WEAK),
        ("Subject: Frånvarande: Gatubelysning", WEAK),
        ("Subject: Frånvaro: Gatubelysning", WEAK),
        ("Subject: Abwesenheitsnotiz: Licht", WEAK),
        ("Subject: Auto: Katuvalo", WEAK),
        ("Subject: RE: Automatic reply: loop", WEAK),
        # Resident feedback that merely begins with such a word (issue 15).
        ("Subject: Poissa oleva liikennemerkki Hakaniemessä", NONE),
        ("Subject: Frånvaro av snöplogning på Mannerheimvägen", NONE),
        ("Subject: Out of office hours the street lights are off", NONE),
        ("Subject: Automatic doors at the library are broken", NONE),
        ("Subject: Autot pysäköivät jalkakäytävällä", NONE),
        ("Subject: Abwesenheit der Müllabfuhr", NONE),
        ("Subject: Poissaolevat katuvalot", NONE),
        ("Subject: Katuvalo rikki", NONE),
    ],
)
def test_auto_reply_signal(header: str, signal: AutoReplySignal) -> None:
    msg = parse(mail(header))
    assert msg.auto_reply_signal is signal
    assert msg.auto_reply is (signal is STRONG)  # the DESIGN.md field: automatic for intake
    assert bool(msg.auto_reply_why) is (signal is not NONE)
    assert (receipt_withheld(msg) is None) is (signal is NONE)


def test_two_weak_signs_that_agree_are_strong() -> None:
    msg = parse(mail("Subject: Automaattinen vastaus: Katuvalo", "X-Auto-Response-Suppress: All"))
    assert msg.auto_reply_signal is STRONG


def test_a_mailer_daemon_sender_is_surely_automatic() -> None:
    raw = b"From: MAILER-DAEMON@mx.example\nSubject: Hello\n\nsomething\n"
    assert parse(raw).auto_reply_signal is STRONG


def test_null_reverse_path_is_automatic_and_unknown_is_not() -> None:
    raw = mail("Subject: Katuvalo")
    assert parse(raw, mail_from="").auto_reply is True
    assert parse(raw, mail_from=None).auto_reply is False
    assert parse(raw, mail_from="matti@example.fi").auto_reply is False


def test_sender_falls_back_to_the_reverse_path() -> None:
    msg = parse(b"Subject: no from\n\nhello there\n", mail_from="<Resident@Example.FI>")
    assert msg.sender.email == "resident@example.fi"


def test_mailer_daemon_needs_a_failure_subject_to_be_a_bounce() -> None:
    def daemon(subject: str) -> bytes:
        return f"From: MAILER-DAEMON@mx.example\nSubject: {subject}\n".encode() + BODY

    assert parse(daemon("Mail delivery failed: returning message")).bounce is True
    assert parse(daemon("Undeliverable: Katuvalo")).bounce is True
    assert parse(daemon("Hello from the postmaster")).bounce is False


@pytest.mark.parametrize(
    ("rcpts", "to", "subject", "code"),
    [
        (("palaute+hel-7k3m-q9td@hel.example",), "palaute@hel.example", "x", "HEL-7K3M-Q9TD"),
        (("<palaute+HEL-7K3M-Q9TD.tok3n@hel.example>",), "palaute@hel.example", "x", "HEL-7K3M-Q9TD"),
        ((), "palaute+hel-2b3c-4d5e.t0k@hel.example", "x", "HEL-2B3C-4D5E"),
        ((), "palaute@hel.example", "Re: asia (hel-2b3c-4d5e)", "HEL-2B3C-4D5E"),
        # The plus-address is ours; it wins over a code someone typed into the subject.
        (("palaute+hel-7k3m-q9td@hel.example",), "palaute@hel.example", "HEL-2B3C-4D5E", "HEL-7K3M-Q9TD"),
        ((), "palaute+news@hel.example", "x", None),
        ((), "palaute@hel.example", "HEL-7K3M-Q9T", None),
    ],
)
def test_tracking_code_from_recipients_or_subject(
    rcpts: tuple[str, ...], to: str, subject: str, code: str | None
) -> None:
    raw = f"From: a@b.example\nTo: {to}\nSubject: {subject}\n".encode() + BODY
    assert parse(raw, envelope_rcpts=rcpts).tracking_code == code


def test_tracking_code_prefix_is_a_setting() -> None:
    raw = b"From: a@b.example\nSubject: Re: ESP-7K3M-Q9TD HEL-2B3C-4D5E\n" + BODY
    assert parse(raw, code_prefix="ESP").tracking_code == "ESP-7K3M-Q9TD"


def test_tracking_code_never_from_the_body() -> None:
    raw = b"From: a@b.example\nSubject: kuoppa\n\nTunnus HEL-7K3M-Q9TD\n"
    assert parse(raw).tracking_code is None


def test_loop_header_is_reported() -> None:
    assert LOOP_HEADER == "X-Gateway-Loop"
    assert parse(mail(f"{LOOP_HEADER}: node-2")).loop_marker == "node-2"
    assert parse(mail("Subject: x")).loop_marker is None


def test_read_receipt_is_automatic_but_not_a_bounce() -> None:
    raw = (
        b"From: a@b.example\nSubject: Read: x\n"
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=r\n\n"
        b"--r\nContent-Type: text/plain\n\nYour message was read.\n"
        b"--r\nContent-Type: message/disposition-notification\n\nFinal-Recipient: rfc822; a@b\n--r--\n"
    )
    msg = parse(raw)
    assert (msg.auto_reply, msg.bounce) == (True, False)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Mannerheimintiellä on iso kuoppa bussipysäkin kohdalla.", "fi"),
        ("Det finns ett stort hål i vägen vid busshållplatsen.", "sv"),
        ("There is a big pothole next to the bus stop.", "en"),
        ("Kiitos!", None),
        ("ok", None),
        ("", None),
        ("https://example.org/a/b 12345 67890", None),
    ],
)
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_detect_language_reads_only_the_start_of_a_long_text() -> None:
    text = "Mannerheimintiellä on iso kuoppa bussipysäkin kohdalla. " * 20 + "snow " * 100_000
    assert detect_language(text) == "fi"
