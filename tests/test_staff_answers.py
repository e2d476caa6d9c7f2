"""Issue 15, items 6 and the forged answer: who may answer a case through its signed reply address, over
SMTP against a running daemon."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.main import main
from gateway.errors import SettingsError
from gateway.notifier.reply_address import reply_address
from gateway.runtime.build import Gateway
from tests.support.conversation import FIXTURE_CONFIG, mail_to, reply, reply_address_of, text_of
from tests.support.daemon import RunningDaemon, make_settings, wait_for
from tests.support.mail import all_cases, events_of, make_mail, send, settled

RESIDENT = "matti@example.fi"
PARKING = "pysakointi@hel.example"  # a city department of the test city
CONTRACTOR = "talvi@urakoitsija.example"
EVIL = "Maksa 50 EUR osoitteessa http://evil.example, muuten auto hinataan."


def _open(gateway: RunningDaemon, parking: bool = True) -> tuple[Any, Message]:
    mail = (
        make_mail(subject="Pysäköinti", body="Auto on pysäköity suojatielle jo kolmatta päivää.")
        if parking
        else make_mail()
    )
    send(gateway.port, mail)
    handler = PARKING if parking else CONTRACTOR
    [forward] = wait_for(lambda: mail_to(gateway.maildir, handler), what="the forward")
    wait_for(lambda: mail_to(gateway.maildir, RESIDENT), what="the receipt")
    [case] = all_cases(gateway.db)
    wait_for(lambda: settled(gateway.db), what="the deliveries to be recorded")
    return case, forward


def _answers(gateway: RunningDaemon) -> list[Message]:
    return [m for m in mail_to(gateway.maildir, RESIDENT) if "vastannut" in text_of(m)]


def _kinds(gateway: RunningDaemon, case_id: int) -> list[str]:
    return [e.kind for e in events_of(gateway.db, case_id)]


def _last(gateway: RunningDaemon, case_id: int, kind: str) -> Any:
    return [e for e in events_of(gateway.db, case_id) if e.kind == kind][-1]


@pytest.mark.parametrize(
    ("parking", "sender", "accepted_as"),
    [
        (True, "Sari Sihteeri <sari.sihteeri@hel.example>", "an address of the staff domains"),
        (True, "Pysäköinti <pysakointi@hel.example>", "a listed contact of the department"),
        (False, "Toimisto <kirjaamo@hel.example>", "an address of the staff domains"),  # a city colleague
        (False, "Talvi <talvi@urakoitsija.example>", "a listed contact of the department"),
    ],
)
def test_staff_answer_from_their_own_address_through_the_signed_reply_address(
    gateway: RunningDaemon, parking: bool, sender: str, accepted_as: str
) -> None:
    case, forward = _open(gateway, parking)
    send(
        gateway.port,
        reply(forward, sender, "Asia on tarkistettu ja auto siirretty."),
        rcpt=reply_address_of(forward),
    )
    [answer] = wait_for(lambda: _answers(gateway), what="the relayed answer")
    assert "Asia on tarkistettu ja auto siirretty." in text_of(answer)
    event = _last(gateway, case.id, "answer")
    address = sender.rpartition("<")[2].rstrip(">")
    assert (event.actor, event.data["answered_by"], event.data["relayed"]) == (address, address, True)
    assert event.data["accepted_as"].startswith(accepted_as)
    assert address not in text_of(answer)


@pytest.mark.parametrize(
    "sender",
    [
        "Sari <sari@urakoitsija.example>",  # the contractor's other staff: not a listed contact
        "Sari <sari@hel.example.evil.example>",  # a look-alike domain
        "Sari <sari@evilhel.example>",
        "Stranger <someone@example.com>",
    ],
)
def test_everyone_else_is_refused_and_told_how_to_answer(gateway: RunningDaemon, sender: str) -> None:
    case, forward = _open(gateway, parking=False)
    send(gateway.port, reply(forward, sender, EVIL), rcpt=reply_address_of(forward))
    address = sender.rpartition("<")[2].rstrip(">")
    [told] = wait_for(lambda: mail_to(gateway.maildir, address), what="the how-to-answer notice")
    assert "Viestiäsi ei välitetty" in told["Subject"]
    wait_for(lambda: settled(gateway.db), what="settling")
    assert _answers(gateway) == []
    assert _last(gateway, case.id, "unverified").actor == address


def _old_token(code: str, secret: str) -> str:
    """A reply address signed the way the published code did before issue 15: HMAC(secret, code)."""
    mac = hmac.new(secret.encode(), code.upper().encode(), hashlib.sha256).digest()
    return f"palaute+{code.lower()}.{base64.b32encode(mac).decode().lower()[:16]}@hel.example"


@pytest.mark.parametrize("scheme", ["before issue 15", "department-bound"])
def test_a_stranger_with_the_published_default_secret_cannot_answer(
    gateway: RunningDaemon, scheme: str
) -> None:
    case, _ = _open(gateway, parking=False)
    forged = (
        _old_token(case.code, "change-me")
        if scheme == "before issue 15"
        else reply_address("palaute@hel.example", case.code, case.department, "change-me")
    )
    msg = make_mail(sender=f"Talvi <{CONTRACTOR}>", to=forged, subject=f"RE: [{case.code}]", body=EVIL)
    send(gateway.port, msg, rcpt=forged)
    wait_for(
        lambda: "unverified" in [e.kind for e in events_of(gateway.db, case.id)], what="the forgery kept"
    )
    wait_for(lambda: settled(gateway.db), what="settling")
    assert _answers(gateway) == []
    assert all("evil.example" not in text_of(m) for m in mail_to(gateway.maildir, RESIDENT))
    assert "wrong or outdated token" in _last(gateway, case.id, "unverified").data["why"]


@pytest.mark.parametrize(
    ("secret", "database"),
    [
        ("change-me", "sqlite:///{tmp}/g.db"),
        ("short-secret", "sqlite:///{tmp}/g.db"),
        ("", "postgresql+psycopg://postgres@127.0.0.1:5432/never_opened"),
    ],
)
def test_gateway_run_refuses_to_start_with_a_weak_secret(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    secret: str,
    database: str,
) -> None:
    started: list[object] = []

    async def serve(*args: object, **kwargs: object) -> int:  # without the check, the daemon would run
        started.append(args)
        return 0

    monkeypatch.setattr("gateway.runtime.daemon.serve", serve)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", database.format(tmp=tmp_path))
    monkeypatch.setenv("GATEWAY_REPLY_SECRET", secret)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(FIXTURE_CONFIG))
    assert main(["run"]) == 2
    assert "reply_secret" in capsys.readouterr().err
    assert not (tmp_path / "g.db").exists() and not started  # refused before anything was opened


@pytest.mark.parametrize("secret", ["change-me", "", "short-secret"])
def test_the_daemon_itself_refuses_a_weak_secret(tmp_path: Path, database_url: str, secret: str) -> None:
    settings = make_settings(tmp_path, database_url, reply_secret=secret)
    with pytest.raises(SettingsError, match="reply_secret"):
        Gateway(settings, None, None)  # type: ignore[arg-type]  # checked before either is touched


def test_a_reroute_rotates_the_token_and_the_old_one_is_kept_not_relayed(gateway: RunningDaemon) -> None:
    case, forward = _open(gateway, parking=False)
    old = reply_address_of(forward)
    send(gateway.port, reply(forward, f"Talvi <{CONTRACTOR}>", "#siirrä pysakointi"), rcpt=old)
    [second] = wait_for(lambda: mail_to(gateway.maildir, PARKING), what="the new hand-over")
    new = reply_address_of(second)
    assert new != old and new.partition(".")[0] == old.partition(".")[0]  # same code, new token
    # The old department answers anyway: kept on the case for a person to look at, not relayed.
    send(gateway.port, reply(forward, f"Talvi <{CONTRACTOR}>", "Aurattu."), rcpt=old)
    wait_for(lambda: "unverified" in [e.kind for e in events_of(gateway.db, case.id)], what="the old answer")
    assert "outdated token" in _last(gateway, case.id, "unverified").data["why"]
    assert _answers(gateway) == []
    send(gateway.port, reply(second, f"P <{PARKING}>", "Auto on siirretty."), rcpt=new)
    [answer] = wait_for(lambda: _answers(gateway), what="the new department's answer")
    assert "Auto on siirretty." in text_of(answer) and "Aurattu" not in text_of(answer)


MX = "mx.hel.example"


@pytest.mark.parametrize(
    ("results", "relayed"),
    [
        ([f"{MX}; dkim=pass header.d=hel.example"], True),
        ([f"{MX}; dmarc=pass header.from=hel.example"], True),
        ([f"{MX}; dkim=fail header.d=hel.example; dmarc=fail header.from=hel.example"], False),
        (["evil.example; dkim=pass header.d=hel.example"], False),  # someone else's server said so
        ([], False),  # our server added nothing: the From was not proven
    ],
)
def test_with_a_trusted_authserv_id_an_answer_needs_dkim_or_dmarc(
    start_gateway: Callable[..., RunningDaemon], results: list[str], relayed: bool
) -> None:
    gateway = start_gateway(trusted_authserv_id=MX)
    case, forward = _open(gateway)
    msg = reply(forward, "Sari <sari@hel.example>", "Auto on siirretty.")
    for value in results:
        msg["Authentication-Results"] = value
    send(gateway.port, msg, rcpt=reply_address_of(forward))
    if relayed:
        wait_for(lambda: _answers(gateway), what="the answer")
        return
    wait_for(lambda: "unverified" in [e.kind for e in events_of(gateway.db, case.id)], what="the reply kept")
    wait_for(lambda: settled(gateway.db), what="settling")
    assert _answers(gateway) == []
    assert "DKIM or DMARC" in _last(gateway, case.id, "unverified").data["why"]
