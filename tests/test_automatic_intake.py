"""Issue 15, items 2 and 11, end to end over SMTP: mail that only looks automatic opens a case without a
receipt, surely automatic mail opens none but stays listable, and a hostile From never gets mail."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.store.tables import receipts
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, count, events_of, outbox_mail, receipt_mail, settled

BODY = "Liikennemerkki on kaatunut Hakaniemen torin kulmalla ja se on vaarallinen pyöräilijöille."


def _raw(subject: str, sender: str = "Matti <matti@example.fi>", *headers: str) -> bytes:
    lines = [f"From: {sender}", "To: palaute@hel.example", f"Subject: {subject}", *headers]
    lines += ["Message-ID: <" + str(abs(hash((subject, sender, headers)))) + "@example.fi>"]
    lines += ["Content-Type: text/plain; charset=utf-8", "", BODY, ""]
    return "\r\n".join(lines).encode()


def _send_raw(port: int, raw: bytes, mail_from: str = "matti@example.fi") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(mail_from, ["palaute@hel.example"], raw)


def _processed(gateway: RunningDaemon, n: int) -> None:
    wait_for(lambda: count(gateway.db, receipts, receipts.c.state == "done") == n, what="processing")
    wait_for(lambda: settled(gateway.db), what="a settled outbox")


@pytest.mark.parametrize(
    ("subject", "headers", "receipt"),
    [
        # Resident feedback that merely begins with an out-of-office word: a case and a receipt.
        ("Poissa oleva liikennemerkki Hakaniemessä", (), True),
        ("Frånvaro av snöplogning på Mannerheimvägen", (), True),
        ("Out of office hours the street lights are off", (), True),
        # Only a weak sign: a case, but no receipt, and the case says why.
        ("Automaattinen vastaus: Liikennemerkki", (), False),
        ("Frånvarande: Vägmärke", (), False),
        ("Out of office: traffic sign", (), False),
        ("Liikennemerkki", ("X-Auto-Response-Suppress: OOF",), False),
    ],
)
def test_mail_that_only_looks_automatic_opens_a_case(
    gateway: RunningDaemon, subject: str, headers: tuple[str, ...], receipt: bool
) -> None:
    _send_raw(gateway.port, _raw(subject, "Matti <matti@example.fi>", *headers))
    _processed(gateway, 1)
    [case] = all_cases(gateway.db)
    assert len(receipt_mail(gateway.maildir)) == (1 if receipt else 0)
    notes = [e.text for e in events_of(gateway.db, case.id) if e.kind == "note"]
    if receipt:
        assert not any("no receipt" in n for n in notes)
    else:
        assert any(n.startswith("no receipt sent: possibly automatic") for n in notes), notes
    assert case.department  # routed and handed over like any case
    assert any(m["Auto-Submitted"] == "auto-generated" for m in outbox_mail(gateway.maildir))


def test_every_receipt_without_a_case_is_listed_with_why(
    gateway: RunningDaemon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway.settings.database_url)
    assert main(["reprocess", "--list"]) == 0
    assert capsys.readouterr().out.strip() == "no parked receipts"

    _send_raw(gateway.port, _raw("Lomalla", "Matti <matti@example.fi>", "Auto-Submitted: auto-replied"))
    _send_raw(gateway.port, _raw("Katuvalo"))
    _processed(gateway, 2)
    assert len(all_cases(gateway.db)) == 1
    assert main(["receipts", "--without-case", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["outcome"] == "automatic" and listed["state"] == "done"
    assert "Auto-Submitted: auto-replied" in listed["why"]
    assert main(["receipts", "--without-case"]) == 0
    assert "automatic mail: Auto-Submitted" in capsys.readouterr().out


@pytest.mark.parametrize(
    "sender",
    [
        "=?utf-8?q?Evil=0D=0ABcc:_victim@evil.example?= <inj@example.fi>",
        "=?utf-8?q?Evil=0D=0ABcc:_victim@evil.example=0D=0AX-Injected:_1?= <inj@example.fi>",
        "=?utf-8?b?RXZpbA0KQmNjOiB2aWN0aW1AZXZpbC5leGFtcGxl?= <inj@example.fi>",
        '"Evil\\r\\nBcc: victim@evil.example" <inj@example.fi>',
    ],
)
def test_a_hostile_display_name_cannot_choose_the_receipts_recipient(
    gateway: RunningDaemon, sender: str
) -> None:
    _send_raw(gateway.port, _raw("Katuvalo rikki", sender), mail_from="inj@example.fi")
    _processed(gateway, 1)
    [case] = all_cases(gateway.db)
    assert case.resident_email == "inj@example.fi"
    [receipt] = receipt_mail(gateway.maildir)
    # The display name may read "Evil Bcc: victim@..." as text; no address or header comes of it.
    assert [a.addr_spec for a in receipt["To"].addresses] == ["inj@example.fi"]
    assert receipt["Bcc"] is None and receipt["X-Injected"] is None
    assert "victim" not in str(receipt["X-Envelope-To"])


@pytest.mark.parametrize(
    "sender",
    [
        "victim@evil.example=0d=0ax-injected",
        "<victim@evil.example%0d%0abcc>",
        "<a b@example.fi>",
        "victim@-evil.example",
        "<victim@evil_example.fi>",
    ],
)
def test_a_sender_that_is_no_addr_spec_gets_a_case_but_no_mail(gateway: RunningDaemon, sender: str) -> None:
    _send_raw(gateway.port, _raw("Katuvalo rikki", f"Evil {sender}"), mail_from="relay@example.fi")
    _processed(gateway, 1)
    [case] = all_cases(gateway.db)
    notes = [e.text for e in events_of(gateway.db, case.id) if e.kind == "note"]
    assert "no receipt sent: the sender's address is not a valid addr-spec" in notes
    assert receipt_mail(gateway.maildir) == []
    assert all(m["Auto-Submitted"] == "auto-generated" for m in outbox_mail(gateway.maildir))


def test_parse_and_route_agree_about_a_weakly_automatic_mail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(_raw("Automatic reply: street light"))
    assert main(["parse", str(eml)]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert main(["route", str(eml), "--at", "2027-01-04T10:00:00+02:00"]) == 0
    routed = json.loads(capsys.readouterr().out)
    for key in ("auto_reply", "auto_reply_signal", "receipt_withheld"):
        assert parsed[key] == routed[key], key
    assert parsed["auto_reply"] is False and parsed["auto_reply_signal"] == "weak"
    assert routed["opens_case"] is True and routed["receipt_withheld"]
