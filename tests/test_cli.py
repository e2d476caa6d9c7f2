"""The `gateway` command as operators use it: exit codes, file:line problems, JSON output, reload."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.store import migrate
from tests.conftest import REPO
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, make_mail, send
from tests.support.process import DaemonProcess

FIXTURE_CONFIG = REPO / "tests" / "fixtures" / "config"


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """A copy of the test city's configuration that a test may edit."""
    config = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, config)
    return config


def _break_rules(config: Path) -> None:
    rules = (config / "rules.yaml").read_text()
    rules = rules.replace(
        "    when:\n      words: [pysäk*", "    when:\n      subjet: x\n      words: [pysäk*"
    )
    rules = rules.replace("default: kirjaamo", "default: hiekkalaatikko")
    (config / "rules.yaml").write_text(rules)


def _gateway(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **{f"GATEWAY_{k.upper()}": v for k, v in env.items()}},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_config_accepts_the_shipped_configuration(tmp_path: Path) -> None:
    result = _gateway("check-config", cwd=REPO, database_url=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stderr


def test_check_config_reports_every_problem_with_file_and_line(city: Path) -> None:
    _break_rules(city)
    result = _gateway("check-config", cwd=city)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert "rules.yaml:2: default: unknown department 'hiekkalaatikko'" in lines
    assert "rules.yaml:14: rules[1].when: unknown condition 'subjet'" in lines


def test_run_refuses_a_broken_configuration(city: Path, tmp_path: Path) -> None:
    _break_rules(city)
    result = _gateway("run", cwd=city, database_url=f"sqlite:///{tmp_path}/x.db", smtp_port="0")
    assert result.returncode == 2
    assert "subjet" in result.stderr and "refusing to start" in result.stderr


def test_a_worker_refuses_an_unknown_loop(city: Path, tmp_path: Path) -> None:
    result = _gateway("work", "--loops", "intake,outbx", cwd=city, database_url=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 1
    assert "unknown loop(s) outbx" in result.stderr


def test_unknown_setting_is_an_error(tmp_path: Path) -> None:
    settings = tmp_path / "gateway.toml"
    settings.write_text('databse_url = "sqlite:///x.db"\n')
    result = _gateway("--settings", str(settings), "db", "current", cwd=tmp_path)
    assert result.returncode == 2 and "unknown setting 'databse_url'" in result.stderr


def test_parse_prints_the_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(bytes(make_mail(subject="Re: [HEL-7K3M-Q9TD] Lunta")))
    assert main(["parse", str(eml)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["from"] == {"email": "matti@example.fi", "name": "Matti Meikäläinen"}
    assert out["tracking_code"] == "HEL-7K3M-Q9TD" and out["language"] == "fi"
    for key in ("message_id", "to", "subject", "text", "reply_text", "attachments", "auto_reply", "bounce"):
        assert key in out


def test_case_show_json_and_db_commands(
    gateway: RunningDaemon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    send(gateway.port, make_mail())
    [case] = wait_for(lambda: all_cases(gateway.db), what="the case")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway.settings.database_url)
    assert main(["case", "show", case.code.lower(), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["code"] == case.code and shown["resident"]["email"] == "matti@example.fi"
    assert [e["kind"] for e in shown["events"]][:2] == ["opened", "routed"]
    assert main(["case", "show", "HEL-0000-0000"]) == 1
    assert main(["case", "show", "not-a-code"]) == 2
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == migrate.head_revision(gateway.db)
    assert main(["reprocess", "--list"]) == 0


def test_a_broken_edit_is_rejected_and_a_good_one_swapped_in(
    start_gateway: Callable[..., RunningDaemon], city: Path
) -> None:
    gateway = start_gateway(config_dir=city, config_poll_seconds=0.1)
    before = gateway.live.current
    _break_rules(city)
    wait_for(lambda: gateway.live.reloads_rejected >= 1, what="the broken edit to be rejected")
    assert gateway.live.current is before
    send(gateway.port, make_mail(subject="Pysäköinti", body="Auto on pysäköity suojatielle."))
    wait_for(lambda: [c.department for c in all_cases(gateway.db)] == ["pysakointi"], what="old routing")

    shutil.copy(FIXTURE_CONFIG / "rules.yaml", city / "rules.yaml")
    rules = (city / "rules.yaml").read_text().replace("department: pysakointi", "department: kirjaamo")
    (city / "rules.yaml").write_text(rules)
    wait_for(lambda: gateway.live.current is not before, what="the good edit")
    send(gateway.port, make_mail(subject="Pysäköinti", body="Taas auto suojatiellä.", sender="b@example.fi"))
    wait_for(lambda: [c.department for c in all_cases(gateway.db)] == ["pysakointi", "kirjaamo"], what="new")


@pytest.mark.slow
def test_sighup_reloads_the_rules(tmp_path: Path, database_url: str, city: Path) -> None:
    daemon = DaemonProcess(tmp_path / "run", database_url, city, config_poll_seconds="0").start()
    try:
        rules = (city / "rules.yaml").read_text().replace("default: kirjaamo", "default: pysakointi")
        (city / "rules.yaml").write_text(rules)
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in daemon.log.read_text(), what="the reload")
        send(daemon.port, make_mail(subject="Kiitos", body="Kiitos hyvästä palvelusta kirjastossa."))
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
        lines = [json.loads(line) for line in daemon.log.read_text().splitlines()]
        routed = [e for e in lines if e["event"] == "case routed"]
        assert routed and routed[0]["department"] == "pysakointi"
    finally:
        daemon.stop()
