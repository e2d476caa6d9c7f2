"""Forged bounces (issue 15): a delivery report from anyone quoting our hand-over's Message-ID silenced a
department. A bounce is believed only with the null reverse-path to the mail's signed bounce address and a
Final-Recipient that is the mail's recipient; a hand-over is never held back. Over smtplib, end to end."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.notifier.bounce_address import bounce_address, bounced_outbox_id, signed_bounce
from gateway.notifier.compose import message_id_for
from gateway.store.tables import outbox, receipts
from tests.support.conversation import city_config, dsn, envelope_from, mail_to, send_bounce
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import count, make_mail, send, settled

RESIDENT = "matti@example.fi"
ATTACKER = "kalle@example.fi"
HANDLER = "talvi@urakoitsija.example"
ESCALATION = "paivystys@hel.example"
SECRET = "s" * 32


def _rows(gateway: RunningDaemon) -> list[Any]:
    with gateway.db.read() as conn:
        return list(conn.execute(select(outbox.c.id, outbox.c.kind, outbox.c.case_id, outbox.c.state)).all())


def _city(tmp_path: Path) -> Path:
    email = f"    email: {HANDLER}\n"
    return city_config(tmp_path, **{email: f"{email}    escalation: {ESCALATION}\n"})


def _first_handover(gateway: RunningDaemon) -> Any:
    send(gateway.port, make_mail(sender=f"Matti <{RESIDENT}>"))
    [forward] = wait_for(lambda: mail_to(gateway.maildir, HANDLER), what="the hand-over")
    wait_for(lambda: settled(gateway.db), what="deliveries recorded")
    return forward


def _wrong_mac(forward: Any) -> str:
    local, _, domain = envelope_from(forward).rpartition("@")
    return f"{local[:-4]}0000@{domain}"


FORGERIES: dict[str, Callable[[Any], tuple[str, str, str]]] = {
    # (reverse-path, recipient, Final-Recipient) of the forged report
    "resident-sender-to-the-main-address": lambda f: (ATTACKER, "palaute@hel.example", HANDLER),
    "null-sender-to-the-main-address": lambda f: ("", "palaute@hel.example", HANDLER),
    "null-sender-to-a-bounce-address-with-a-wrong-mac": lambda f: ("", _wrong_mac(f), HANDLER),
    "resident-sender-to-the-signed-address": lambda f: (ATTACKER, envelope_from(f), HANDLER),
    "signed-address-but-another-final-recipient": lambda f: ("", envelope_from(f), ATTACKER),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_bounce_silences_nobody(
    start_gateway: Callable[..., RunningDaemon], tmp_path: Path, forge: Callable[[Any], tuple[str, str, str]]
) -> None:
    gateway = start_gateway(config_dir=_city(tmp_path))
    forward = _first_handover(gateway)
    mail_from, rcpt, final_recipient = forge(forward)
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        client.sendmail(mail_from, [rcpt], dsn(forward, final_recipient))  # quotes the hand-over's id
    wait_for(lambda: count(gateway.db, receipts, receipts.c.outcome == "bounce") == 1, what="the report")
    assert {r.state for r in _rows(gateway)} == {"sent"}  # nothing marked bounced

    # The next resident's case is handed over as ever, and no alarm went out.
    send(gateway.port, make_mail(sender="Liisa <liisa@example.fi>", subject="Lunta taas"))
    wait_for(lambda: len(mail_to(gateway.maildir, HANDLER)) == 2, what="the second hand-over")
    wait_for(lambda: settled(gateway.db), what="the deliveries to be recorded")
    assert mail_to(gateway.maildir, ESCALATION) == []
    assert {r.state for r in _rows(gateway)} == {"sent"}


def test_a_real_bounce_still_counts_and_the_next_handover_still_goes(
    start_gateway: Callable[..., RunningDaemon], tmp_path: Path
) -> None:
    gateway = start_gateway(config_dir=_city(tmp_path))
    forward = _first_handover(gateway)
    assert envelope_from(forward).startswith("palaute+bounce-")
    send_bounce(gateway.port, forward, HANDLER)  # null sender, the signed address, the right recipient
    [alarm] = wait_for(lambda: mail_to(gateway.maildir, ESCALATION), what="the alarm")
    assert HANDLER in alarm.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert [r.state for r in _rows(gateway) if r.kind == "forward"] == ["bounced"]

    # The department's address is unreachable now, but a hand-over is never dropped (no "mail held back").
    send(gateway.port, make_mail(sender="Liisa <liisa@example.fi>", subject="Lunta taas"))
    wait_for(lambda: len(mail_to(gateway.maildir, HANDLER)) == 2, what="the second hand-over")
    wait_for(lambda: settled(gateway.db), what="the delivery to be recorded")
    assert [r.state for r in _rows(gateway) if r.kind == "forward"] == ["bounced", "sent"]


def test_the_bounce_address_is_signed_per_outbox_row() -> None:
    address = bounce_address("palaute@hel.example", 42, SECRET)
    assert address.startswith("palaute+bounce-42-") and address.endswith("@hel.example")
    assert bounced_outbox_id(address, SECRET) == 42
    assert bounced_outbox_id(address.upper(), SECRET) == 42
    assert bounced_outbox_id(address, "t" * 32) is None
    assert bounced_outbox_id(address.replace("-42-", "-43-"), SECRET) is None
    assert bounced_outbox_id("palaute+bounce-42-ääääääääääääääääääää@hel.example", SECRET) is None
    assert signed_bounce((address,), "", SECRET) == 42
    assert signed_bounce((address,), ATTACKER, SECRET) is None
    assert signed_bounce((address,), None, SECRET) is None


def test_our_message_ids_cannot_be_computed_from_a_tracking_code() -> None:
    key = "forward:HEL-7K3M-Q9TD:new"
    ours = message_id_for(key, "hel.example", SECRET)
    assert ours == message_id_for(key, "hel.example", SECRET)  # a retry after a crash: the same mail
    assert ours != message_id_for(key, "hel.example", "t" * 32)
    import hashlib

    assert hashlib.sha256(key.encode()).hexdigest()[:24] not in ours  # the old, public derivation
