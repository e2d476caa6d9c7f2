"""Issue 15, "a fake staff answer with the default secret": the secret, its derived keys, department-bound
reply tokens and Authentication-Results (RFC 8601). Pure code; the daemon tests are in test_staff_answers."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest

from gateway.errors import SettingsError
from gateway.mail.authres import authenticated
from gateway.notifier.compose import Identity, is_our_loop_marker, loop_marker
from gateway.notifier.reply_address import (
    LOOP_MARK_LABEL,
    REPLY_TOKEN_LABEL,
    derive_key,
    reply_address,
    reply_parts,
    verified_code,
)
from gateway.settings import Settings, load_settings
from gateway.settings.reply_secret import check_reply_secret, resolve_reply_secret

GOOD = "a-long-enough-secret-of-the-city-0123456789"


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("change-me", "published default"),
        ("CHANGE-ME", "published default"),
        ("", "empty"),
        ("x" * 31, "31 bytes"),
        ("ä" * 15, "30 bytes"),  # bytes, not characters
    ],
)
def test_a_weak_secret_is_refused(secret: str, why: str) -> None:
    with pytest.raises(SettingsError, match=why):
        check_reply_secret(secret)


@pytest.mark.parametrize("secret", ["change-me", "short", "x" * 31])
def test_a_weak_secret_set_is_refused_even_on_sqlite(secret: str, tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", reply_secret=secret)
    with pytest.raises(SettingsError):
        resolve_reply_secret(settings)


def test_an_empty_secret_on_postgresql_is_refused() -> None:
    settings = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1/x", reply_secret="")
    with pytest.raises(SettingsError, match="PostgreSQL"):
        resolve_reply_secret(settings)


def test_the_embedded_default_generates_a_private_secret_once_and_reuses_it(tmp_path: Path) -> None:
    settings = load_settings(environ={"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/var/gateway.db"})
    assert settings.reply_secret == ""  # nothing published to forge with
    first = resolve_reply_secret(settings)
    path = tmp_path / "var" / "reply_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.reply_secret == path.read_text().strip() and len(first.reply_secret) >= 32
    assert resolve_reply_secret(settings).reply_secret == first.reply_secret  # the next start
    other = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/elsewhere/g.db")
    assert resolve_reply_secret(other).reply_secret != first.reply_secret  # never a shared constant


def test_a_generated_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reply_secret"
    path.write_text(GOOD)
    os.chmod(path, 0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        resolve_reply_secret(Settings(database_url=f"sqlite:///{tmp_path}/g.db", reply_secret=""))


def test_reply_tokens_and_loop_marks_use_separate_keys() -> None:
    assert derive_key(GOOD, REPLY_TOKEN_LABEL) != derive_key(GOOD, LOOP_MARK_LABEL)
    assert GOOD.encode() not in (derive_key(GOOD, REPLY_TOKEN_LABEL), derive_key(GOOD, LOOP_MARK_LABEL))
    identity = Identity("palaute@hel.example", "City", "hel.example", GOOD)
    mark = loop_marker(identity, "x@hel.example")
    assert is_our_loop_marker(identity, "x@hel.example", mark)
    mac = mark.split()[1]
    raw = hmac.new(GOOD.encode(), b"x@hel.example", hashlib.sha256).hexdigest()[:20]
    derived = hmac.new(derive_key(GOOD, LOOP_MARK_LABEL), b"x@hel.example", hashlib.sha256).hexdigest()
    assert mac == derived[:20] and mac != raw  # signed with its own key, not reply_secret itself
    # A loop mark is no reply token for the same text, and the other way round.
    token = reply_parts(reply_address("palaute@hel.example", "HEL-7K3M-Q9TD", "talvi", GOOD))
    assert token is not None and token[1] not in mark


def test_a_reply_token_is_bound_to_its_department() -> None:
    address = reply_address("palaute@hel.example", "HEL-7K3M-Q9TD", "talvi", GOOD)
    assert verified_code(address, "talvi", GOOD) == "HEL-7K3M-Q9TD"
    assert verified_code(address, "kirjaamo", GOOD) is None  # after a reroute
    assert verified_code(address, "talvi", GOOD + "x") is None
    assert reply_address("palaute@hel.example", "HEL-7K3M-Q9TD", "kirjaamo", GOOD) != address


@pytest.mark.parametrize("token", ["ääääääääääääääää", "\udcff" * 16, "", "a" * 200])
def test_a_strange_token_is_refused_not_raised(token: str) -> None:
    assert verified_code(f"palaute+hel-7k3m-q9td.{token}@hel.example", "talvi", GOOD) is None


MX = "mx.hel.example"


@pytest.mark.parametrize(
    ("headers", "sender", "ok"),
    [
        ((f"{MX}; dkim=pass header.d=hel.example header.s=sel; spf=pass",), "liisa@hel.example", True),
        ((f"{MX}; dmarc=pass (p=reject) header.from=hel.example",), "liisa@hel.example", True),
        ((f"{MX}; dkim=pass header.i=@hel.example",), "liisa@hel.example", True),
        ((f"{MX}; dkim=pass header.d=hel.example",), "liisa@kymp.hel.example", True),  # relaxed alignment
        ((f"{MX.upper()} 1; dkim=pass header.d=hel.example",), "liisa@hel.example", True),
        (
            (f"{MX}; dkim=fail header.d=hel.example; dmarc=fail header.from=hel.example",),
            "l@hel.example",
            False,
        ),
        ((f"{MX}; spf=pass smtp.mailfrom=hel.example",), "liisa@hel.example", False),  # SPF alone: no
        ((f"{MX}; dkim=pass header.d=evil.example",), "liisa@hel.example", False),  # someone else's key
        ((f"{MX}; dkim=pass header.d=example",), "liisa@hel.example.evil", False),
        (("evil.example; dkim=pass header.d=hel.example",), "liisa@hel.example", False),  # not our server
        ((f"{MX}; none",), "liisa@hel.example", False),
        ((), "liisa@hel.example", False),
        (
            ("evil.example; dkim=pass header.d=hel.example", f"{MX}; dkim=pass header.d=hel.example"),
            "l@hel.example",
            True,
        ),
    ],
)
def test_authentication_results_count_only_from_our_server_and_for_the_from_domain(
    headers: tuple[str, ...], sender: str, ok: bool
) -> None:
    assert authenticated(headers, MX, sender) is ok
