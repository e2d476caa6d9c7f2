"""`gateway user add EMAIL --name NAME --role ROLE [--department KEY ...]`, `gateway user list`,
`gateway user disable EMAIL`, `gateway user password EMAIL`: the staff console's accounts (issue 18).

A password is never an argument (it would sit in the shell's history and in `ps`): it is read from standard
input when that is not a terminal (`gateway user add ... < file`, or a pipe), else asked for twice."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime

from gateway.cli.common import database
from gateway.errors import Conflict, StorageError
from gateway.settings import Settings
from gateway.store import users
from gateway.store.users import ROLES

EXIT_OK, EXIT_ERROR = 0, 1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="add, list or disable staff console accounts, or set a password")
    actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add", help="add an account; the password is read from standard input, or asked for twice"
    )
    add.add_argument("email")
    add.add_argument("--name", required=True, help="the person's name, as staff see it")
    add.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    add.add_argument(
        "--department",
        action="append",
        default=[],
        metavar="KEY",
        help="a department of departments.yaml whose cases a handler sees (repeat for more)",
    )
    listing = actions.add_parser("list", help="list the accounts (never their passwords)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    disable = actions.add_parser("disable", help="refuse an account's logins and end its sessions")
    disable.add_argument("email")
    password = actions.add_parser("password", help="set a new password and end the account's sessions")
    password.add_argument("email")


def user_command(settings: Settings, args: argparse.Namespace) -> int:
    command = {"add": _add, "list": _list, "disable": _disable, "password": _password}[args.user_command]
    try:
        return command(settings, args)
    except StorageError as exc:
        print(f"gateway: {exc} (is the schema up to date? `gateway db upgrade`)", file=sys.stderr)
        return EXIT_ERROR


def _fail(message: str) -> int:
    print(f"gateway: {message}", file=sys.stderr)
    return EXIT_ERROR


def read_password() -> str | None:
    """The new password: standard input's one line when it is not a terminal, else typed twice without
    echo. None after saying what is wrong with it."""
    if not sys.stdin.isatty():
        text = sys.stdin.read()
        password = text[:-1] if text.endswith("\n") else text
        password = password[:-1] if password.endswith("\r") else password
        if "\n" in password:
            print("gateway: the password must be one line of standard input", file=sys.stderr)
            return None
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("The same password again: ") != password:
            print("gateway: the two passwords differ; nothing was changed", file=sys.stderr)
            return None
    if problem := users.check_password(password):
        print(f"gateway: {problem}; nothing was changed", file=sys.stderr)
        return None
    return password


def _departments(settings: Settings, role: str, keys: list[str]) -> str | None:
    """Why *keys* cannot be the departments of an account of *role*, or None."""
    if role != "handler":
        return f"only handlers have departments; a {role} sees every department's cases" if keys else None
    if not keys:
        return "a handler needs at least one --department (the cases it sees and answers)"
    from gateway.rules import ConfigError
    from gateway.rules.live import read_config

    try:
        config = read_config(settings)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return "the configuration in force has errors (see `gateway check-config`)"
    if unknown := [k for k in keys if k not in config.departments]:
        known = ", ".join(sorted(config.departments))
        return f"no department {', '.join(map(repr, unknown))} in departments.yaml (known: {known})"
    return None


def _add(settings: Settings, args: argparse.Namespace) -> int:
    email = users.normalise_email(args.email)
    if problem := users.check_email(email):
        return _fail(problem)
    if not args.name.strip():
        return _fail("--name must not be empty")
    if problem := _departments(settings, args.role, args.department):
        return _fail(problem)
    with database(settings) as db:
        with db.read() as conn:
            if users.find_user(conn, email) is not None:
                return _fail(f"a user {email!r} exists already (see `gateway user list`)")
        password = read_password()
        if password is None:
            return EXIT_ERROR
        try:
            with db.write() as conn:
                user = users.add_user(
                    conn,
                    email,
                    args.name,
                    args.role,
                    args.department,
                    users.hash_password(password),
                    datetime.now(UTC),
                )
        except Conflict:
            return _fail(f"a user {email!r} exists already (see `gateway user list`)")
    where = f" for {', '.join(user.departments)}" if user.departments else ""
    print(f"user {user.email!r} added: {user.role}{where}", file=sys.stderr)
    return EXIT_OK


def _list(settings: Settings, args: argparse.Namespace) -> int:
    with database(settings) as db, db.read() as conn:
        found = users.list_users(conn)
    rows = [
        {
            "email": u.email,
            "name": u.name,
            "role": u.role,
            "departments": list(u.departments),
            "created": u.created_at.isoformat(),
            "disabled": u.disabled_at.isoformat() if u.disabled_at else None,
        }
        for u in found
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print(
            "no staff accounts (add one with `gateway user add EMAIL --name NAME --role ROLE`)",
            file=sys.stderr,
        )
        return EXIT_OK
    email_w = max(len("EMAIL"), *(len(u.email) for u in found))
    name_w = max(len("NAME"), *(len(u.name) for u in found))
    print(f"{'EMAIL':<{email_w}}  {'NAME':<{name_w}}  ROLE       DEPARTMENTS  DISABLED")
    for u in found:
        disabled = u.disabled_at.strftime("%Y-%m-%d %H:%M UTC") if u.disabled_at else "-"
        departments = ",".join(u.departments) or "-"
        print(f"{u.email:<{email_w}}  {u.name:<{name_w}}  {u.role:<9}  {departments:<11}  {disabled}")
    return EXIT_OK


def _disable(settings: Settings, args: argparse.Namespace) -> int:
    email = users.normalise_email(args.email)
    with database(settings) as db, db.write() as conn:
        before = users.find_user(conn, email)
        if before is None:
            return _fail(f"no user {email[:80]!r} (see `gateway user list`)")
        ended = users.disable_user(conn, before.id, datetime.now(UTC))
    if before.disabled_at is not None:
        print(f"user {email!r} was disabled already, at {before.disabled_at.isoformat()}", file=sys.stderr)
    else:
        print(f"user {email!r} disabled: {ended} session(s) ended, no login from now on", file=sys.stderr)
    return EXIT_OK


def _password(settings: Settings, args: argparse.Namespace) -> int:
    email = users.normalise_email(args.email)
    with database(settings) as db:
        with db.read() as conn:
            user = users.find_user(conn, email)
        if user is None:
            return _fail(f"no user {email[:80]!r} (see `gateway user list`)")
        password = read_password()
        if password is None:
            return EXIT_ERROR
        with db.write() as conn:
            ended = users.set_password(conn, user.id, users.hash_password(password), datetime.now(UTC))
    note = " (the account is disabled: it still cannot log in)" if not user.enabled else ""
    print(f"password of {email!r} changed: {ended} session(s) ended{note}", file=sys.stderr)
    return EXIT_OK
