"""Handing cases over (issue 3): the forward mail, the signed webhook, rerouting, and the `route` command."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.notifier.reply_address import verified_code
from gateway.store.tables import outbox
from tests.conftest import REPO
from tests.support.daemon import TEST_SECRET, RunningDaemon, wait_for
from tests.support.mail import all_cases, count, events_of, forward_mail, make_mail, send
from tests.support.webhook_server import WebhookReceiver

FIXTURE_CONFIG = REPO / "tests" / "fixtures" / "config"


def _with_photo(msg: EmailMessage) -> EmailMessage:
    msg.add_attachment(
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, maintype="image", subtype="png", filename="lumi.png"
    )
    return msg


def test_a_routed_case_is_forwarded_with_a_signed_reply_address(gateway: RunningDaemon) -> None:
    send(gateway.port, _with_photo(make_mail()))
    [forward] = wait_for(lambda: forward_mail(gateway.maildir), what="the forward")
    [case] = all_cases(gateway.db)
    assert case.department == "talvi" and case.rule == "snow" and case.priority == "high"
    assert case.due_at is not None
    assert forward["To"].addresses[0].addr_spec == "talvi@urakoitsija.example"
    assert forward["Subject"] == f"[{case.code}] Lunta kadulla"
    reply_to = forward["Reply-To"].addresses[0].addr_spec
    assert verified_code(reply_to, case.department, TEST_SECRET) == case.code
    assert verified_code(reply_to, case.department, "another-secret" * 3) is None
    assert "matti@example.fi" not in forward.as_string()  # the resident's address stays with the city
    body = forward.get_body(("plain",)).get_content()
    assert "puoli metriä lunta" in body
    assert case.due_at.astimezone(gateway.live.timezone).strftime("%d.%m.%Y %H:%M") in body
    [photo] = list(forward.iter_attachments())
    assert photo.get_filename() == "lumi.png" and photo.get_content().startswith(b"\x89PNG")
    # The reply address is one of ours: a staff answer to it is accepted over SMTP.
    assert send(gateway.port, make_mail(sender="talvi@urakoitsija.example", to=reply_to), rcpt=reply_to) == {}


def test_the_decision_is_stored_with_the_case_and_its_reasons(gateway: RunningDaemon) -> None:
    send(
        gateway.port,
        make_mail(subject="Pysäköinti", body="Auto on pysäköity suojatielle jo kolmatta päivää."),
    )
    wait_for(lambda: forward_mail(gateway.maildir), what="the forward")
    [case] = all_cases(gateway.db)
    assert case.department == "pysakointi"
    assert case.decision["rule"] == "parking"
    assert any("pysäk" in r for r in case.decision["reasons"])
    routed = [e for e in events_of(gateway.db, case.id) if e.kind == "routed"]
    assert routed and routed[0].data["department"] == "pysakointi"


@pytest.fixture
def webhook_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, WebhookReceiver]]:
    receiver = WebhookReceiver(secret="s3cret", fail_first=1).start()
    config = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, config)
    departments = (config / "departments.yaml").read_text()
    webhook = f'    webhook: {{url: "{receiver.url}", secret_env: TALVI_SECRET}}\n'
    email = "    email: talvi@urakoitsija.example\n"
    departments = departments.replace(email, email + webhook)
    (config / "departments.yaml").write_text(departments)
    monkeypatch.setenv("TALVI_SECRET", "s3cret")
    yield config, receiver
    receiver.stop()


def test_a_department_webhook_gets_the_case_signed_and_retried(
    start_gateway: Callable[..., RunningDaemon], webhook_city: tuple[Path, WebhookReceiver]
) -> None:
    config, receiver = webhook_city
    gateway = start_gateway(config_dir=config)
    send(gateway.port, make_mail())
    wait_for(lambda: receiver.attempts == 1, what="the first attempt")  # answered 503
    # Move the clock only once the failure is recorded, or the retry is planned from the moved clock.
    recorded = (outbox.c.kind == "webhook", outbox.c.last_error.is_not(None))
    wait_for(lambda: count(gateway.db, outbox, *recorded), what="the failed attempt to be recorded")
    assert receiver.received == []
    gateway.clock.advance(timedelta(minutes=2))  # past the backoff
    [delivery] = wait_for(lambda: receiver.received, what="the retried webhook")
    [case] = all_cases(gateway.db)
    assert delivery.signature_ok
    assert delivery.body["code"] == case.code and delivery.body["department"] == "talvi"
    assert delivery.body["event"] == "case.new" and "lunta" in delivery.body["text"]
    assert verified_code(delivery.body["reply_to"], case.department, TEST_SECRET) == case.code
    assert len(delivery.headers["Idempotency-Key"]) == 32
    assert "matti@example.fi" not in json.dumps(delivery.body)
    wait_for(
        lambda: count(gateway.db, outbox, outbox.c.kind == "webhook", outbox.c.state == "sent"), what="sent"
    )


def test_reroute_from_the_command_line(
    gateway: RunningDaemon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    send(gateway.port, make_mail())
    wait_for(lambda: forward_mail(gateway.maildir), what="the first forward")
    [case] = all_cases(gateway.db)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway.settings.database_url)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(gateway.settings.config_dir))
    monkeypatch.setenv("GATEWAY_REPLY_SECRET", TEST_SECRET)
    monkeypatch.setenv("GATEWAY_LOG_FORMAT", "console")
    # The command queues the new forward on the app clock; here that is the test daemon's (issue 15).
    monkeypatch.setattr("gateway.runtime.build.app_clock", lambda fast_clock: gateway.clock)
    args = ["case", "reroute", case.code.lower(), "pysakointi", "--by", "Liisa (talvi)", "--why", "ei lunta"]
    assert main(args) == 0
    wait_for(lambda: len(forward_mail(gateway.maildir)) == 2, what="the new forward")
    second = forward_mail(gateway.maildir)[1]
    assert second["To"].addresses[0].addr_spec == "pysakointi@hel.example"
    [case] = all_cases(gateway.db)
    assert case.department == "pysakointi" and case.rule == "manual"
    rerouted = events_of(gateway.db, case.id)[-1]
    assert (rerouted.kind, rerouted.actor, rerouted.text) == ("rerouted", "Liisa (talvi)", "ei lunta")
    assert rerouted.data["from"] == "talvi" and rerouted.data["to"] == "pysakointi"

    assert main(["case", "reroute", case.code, "hiekkalaatikko"]) == 2
    assert "no department 'hiekkalaatikko'" in capsys.readouterr().err


def test_route_command_explains_a_decision(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(REPO))  # the shipped configuration
    monkeypatch.setenv("GATEWAY_LOG_FORMAT", "console")
    argv = ["route", "--text", "Kadulla on puoli metriä lunta.", "--location", "60.1618,24.9392"]
    assert main([*argv, "--at", "2026-01-14T10:00"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["department"] == "talvikunnossapito-etela"
    assert decision["rule"] == "snow-and-ice-south"
    assert any("etelainen-suurpiiri" in r for r in decision["reasons"])
    assert decision["contact"] == "talvi-etela@urakoitsija.example"  # a Wednesday morning: the day roster

    eml = tmp_path / "parking.eml"
    eml.write_bytes(bytes(make_mail(subject="Väärin pysäköity", body="Auto on pysäköity jalkakäytävälle.")))
    assert main(["route", str(eml)]) == 0
    assert json.loads(capsys.readouterr().out)["department"] == "pysakoinninvalvonta"


def test_route_of_an_empty_text_falls_through_to_the_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(REPO))
    assert main(["route", "--text", "", "--category", "no-such-category", "--location", "10,10"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["department"] == "kirjaamo" and decision["rule"] == "default"
