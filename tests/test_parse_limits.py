"""The parse limits are settings, and intake and `gateway parse` read a message alike (issue 15, item 10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.cli.main import main
from gateway.errors import SettingsError
from gateway.settings import load_settings
from gateway.store.tables import attachments
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, forward_mail, make_mail, send


def mail_with_attachments(count: int) -> EmailMessage:
    msg = make_mail()
    for n in range(count):
        msg.add_attachment(f"kuva {n}".encode(), maintype="image", subtype="png", filename=f"kuva{n}.png")
    return msg


def test_intake_keeps_and_forwards_max_attachments_and_says_how_many_were_left_out(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    gateway = start_gateway(max_attachments=3)
    assert send(gateway.port, mail_with_attachments(5)) == {}
    [forward] = wait_for(lambda: forward_mail(gateway.maildir), what="the hand-over")
    [case] = all_cases(gateway.db)
    with gateway.db.read() as conn:
        kept = conn.execute(select(attachments.c.filename).where(attachments.c.case_id == case.id)).all()
    assert sorted(name for (name,) in kept) == ["kuva0.png", "kuva1.png", "kuva2.png"]
    assert "2 liitettä jätettiin pois" in case.text and "at most 3" in case.text
    forwarded = [p.get_filename() for p in forward.walk() if p.get_filename()]
    assert forwarded == ["kuva0.png", "kuva1.png", "kuva2.png"]


def test_gateway_parse_reads_with_the_same_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(bytes(mail_with_attachments(5)))
    monkeypatch.setenv("GATEWAY_MAX_ATTACHMENTS", "3")
    assert main(["parse", str(eml)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [a["filename"] for a in out["attachments"]] == ["kuva0.png", "kuva1.png", "kuva2.png"]
    assert out["attachments_left_out"] == 2


@pytest.mark.parametrize(("name", "value"), [("MAX_ATTACHMENTS", "-1"), ("MAX_MIME_PARTS", "0")])
def test_a_limit_out_of_range_is_refused_with_its_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name.lower()):
        load_settings(environ={f"GATEWAY_{name}": value})
