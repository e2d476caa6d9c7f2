"""`gateway user add | list | disable | password` (issue 18): the password from standard input or typed
twice, never an argument nor printed; departments checked against the configuration; clear refusals."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.store import users
from gateway.store.db import Database

PASSWORD = "correct horse battery staple"


class Terminal(io.StringIO):
    """Standard input that is a terminal: the command must ask with getpass instead of reading it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli(
    db: Database, database_url: str, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """The commands pointed at a migrated database and the test city's configuration."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", database_url)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(config_dir))
    yield db


def typed(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_a_user_is_added_with_the_password_from_standard_input_and_listed_without_it(
    cli: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed(monkeypatch, PASSWORD + "\n")
    command = ["user", "add", "Hanna@HEL.example", "--name", "Hanna K", "--role", "handler"]
    assert main([*command, "--department", "talvi", "--department", "pysakointi"]) == 0
    with cli.read() as conn:
        found = users.find_login(conn, "hanna@hel.example")
    assert found is not None
    user, password_hash = found
    assert user.role == "handler" and user.departments == ("pysakointi", "talvi")
    assert password_hash.startswith("$argon2id$") and users.verify_password(password_hash, PASSWORD)
    capsys.readouterr()
    assert main(["user", "list", "--json"]) == 0
    out = capsys.readouterr().out
    [row] = json.loads(out)
    assert row["email"] == "hanna@hel.example" and row["departments"] == ["pysakointi", "talvi"]
    assert "argon2" not in out and PASSWORD not in out
    assert main(["user", "list"]) == 0
    table = capsys.readouterr().out
    assert "hanna@hel.example" in table and "handler" in table and "argon2" not in table


def test_a_password_typed_at_a_terminal_is_asked_for_twice(
    cli: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal())
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["user", "add", "a@hel.example", "--name", "A", "--role", "agent"]) == 1
    assert "differ" in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert main(["user", "add", "a@hel.example", "--name", "A", "--role", "agent"]) == 0
    with cli.read() as conn:
        assert users.find_user(conn, "a@hel.example") is not None


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["--role", "agent"], "short\n", "at least 12 characters"),
        (["--role", "handler"], PASSWORD, "at least one --department"),
        (["--role", "handler", "--department", "nosuch"], PASSWORD, "no department 'nosuch'"),
        (["--role", "agent", "--department", "talvi"], PASSWORD, "only handlers have departments"),
        (["--role", "agent"], "two\nlines of a password\n", "one line"),
    ],
)
def test_a_bad_account_is_refused_with_the_reason(
    cli: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: str,
    says: str,
) -> None:
    typed(monkeypatch, stdin)
    assert main(["user", "add", "x@hel.example", "--name", "X", *args]) == 1
    assert says in capsys.readouterr().err
    with cli.read() as conn:
        assert users.list_users(conn) == []


def test_an_address_and_a_role_are_checked(
    cli: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed(monkeypatch, PASSWORD)
    assert main(["user", "add", "not-an-address", "--name", "X", "--role", "agent"]) == 1
    assert "not an email address" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: the choices are listed
        main(["user", "add", "x@hel.example", "--name", "X", "--role", "boss"])
    typed(monkeypatch, PASSWORD)
    assert main(["user", "add", "x@hel.example", "--name", "X", "--role", "agent"]) == 0
    typed(monkeypatch, PASSWORD)
    assert main(["user", "add", "X@hel.example", "--name", "Y", "--role", "admin"]) == 1
    assert "exists already" in capsys.readouterr().err


def test_disable_and_password_end_the_sessions_and_name_unknown_users(
    cli: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with cli.write() as conn:
        user = users.add_user(conn, "a@hel.example", "A", "agent", (), users.hash_password(PASSWORD), _now())
        for _ in range(2):
            users.start_session(conn, user.id, _now(), timedelta(hours=1))
    typed(monkeypatch, "another good password\n")
    assert main(["user", "password", "a@hel.example"]) == 0
    assert "2 session(s) ended" in capsys.readouterr().err
    with cli.write() as conn:
        token, _ = users.start_session(conn, user.id, _now(), timedelta(hours=1))
        found = users.find_login(conn, "a@hel.example")
    assert found is not None and users.verify_password(found[1], "another good password")
    assert main(["user", "disable", "A@hel.example"]) == 0
    assert "1 session(s) ended" in capsys.readouterr().err
    with cli.read() as conn:
        assert users.find_session(conn, token, _now(), timedelta(minutes=30)) is None
        disabled = users.find_user(conn, "a@hel.example")
    assert disabled is not None and disabled.disabled_at is not None
    assert main(["user", "disable", "a@hel.example"]) == 0
    assert "disabled already" in capsys.readouterr().err
    assert main(["user", "disable", "nobody@hel.example"]) == 1
    assert "no user 'nobody@hel.example'" in capsys.readouterr().err
    typed(monkeypatch, PASSWORD)
    assert main(["user", "password", "nobody@hel.example"]) == 1


def _now() -> datetime:
    return datetime.now(UTC)
