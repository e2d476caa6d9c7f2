"""`gateway client add NAME [--open311]`, `gateway client list`, `gateway client disable NAME`: the systems
that may send feedback in through the signed webhook or Open311 (issue 17)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from gateway.cli.common import database
from gateway.errors import Conflict, StorageError
from gateway.settings import Settings
from gateway.store import clients

EXIT_OK, EXIT_ERROR = 0, 1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    client = sub.add_parser("client", help="add, list or disable the webhook and Open311 API clients")
    actions = client.add_subparsers(dest="client_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a client and print its secret (shown only this once)")
    add.add_argument("name", help="1-64 characters of a-z, 0-9, '.', '_', '-'")
    add.add_argument(
        "--open311", action="store_true", help="an Open311 client (the secret is its api_key), not a webhook"
    )
    listing = actions.add_parser("list", help="list the clients (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    disable = actions.add_parser("disable", help="refuse a client's requests from now on")
    disable.add_argument("name")


def client_command(settings: Settings, args: argparse.Namespace) -> int:
    command = {"add": _add, "list": _list, "disable": _disable}[args.client_command]
    try:
        return command(settings, args)
    except StorageError as exc:
        print(f"gateway: {exc} (is the schema up to date? `gateway db upgrade`)", file=sys.stderr)
        return EXIT_ERROR


def _add(settings: Settings, args: argparse.Namespace) -> int:
    name: str = args.name
    if problem := clients.check_name(name):
        print(f"gateway: {problem}", file=sys.stderr)
        return EXIT_ERROR
    kind: clients.Kind = "open311" if args.open311 else "webhook"
    try:
        with database(settings) as db, db.write() as conn:
            secret = clients.add_client(conn, name, kind, datetime.now(UTC))
    except Conflict:
        print(
            f"gateway: a client named {name!r} exists already (see `gateway client list`); "
            "names are never given twice: choose another",
            file=sys.stderr,
        )
        return EXIT_ERROR
    # The secret alone on standard output (SECRET=$(gateway client add NAME) works), the rest beside it.
    shown = "it is shown only now and cannot be shown again"
    print(f"{kind} client {name!r} added. Its secret follows; {shown}:", file=sys.stderr)
    sys.stderr.flush()
    print(secret, flush=True)
    print(_usage(kind, name, settings.web_url), file=sys.stderr)
    return EXIT_OK


def _usage(kind: str, name: str, web_url: str) -> str:
    if kind == "open311":
        return (
            f"It is the client's Open311 api_key: send it as the api_key field of POST "
            f"{web_url}/open311/v2/requests.json (form-encoded). Keep it secret; if it leaks, "
            f"`gateway client disable {name}` and add a client under a new name."
        )
    return (
        f"Sign every POST {web_url}/api/v1/feedback with the headers\n"
        f"  X-Gateway-Client: {name}\n"
        '  X-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">\n'
        "with the secret's text (UTF-8 bytes) as the HMAC key; t must be within 5 minutes of our clock. "
        f"The API is described at {web_url}/api/openapi.json. Keep the secret safe; if it leaks, "
        f"`gateway client disable {name}` and add a client under a new name."
    )


def _list(settings: Settings, args: argparse.Namespace) -> int:
    with database(settings) as db, db.read() as conn:
        found = clients.list_clients(conn)
    rows = [
        {
            "name": c.name,
            "kind": c.kind,
            "created": c.created_at.isoformat(),
            "disabled": c.disabled_at.isoformat() if c.disabled_at else None,
        }
        for c in found
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("no API clients (add one with `gateway client add NAME [--open311]`)", file=sys.stderr)
        return EXIT_OK
    width = max(len(c.name) for c in found)
    print(f"{'NAME':<{width}}  KIND     CREATED                    DISABLED")
    for c in found:
        created = c.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        disabled = c.disabled_at.strftime("%Y-%m-%d %H:%M:%S UTC") if c.disabled_at else "-"
        print(f"{c.name:<{width}}  {c.kind:<7}  {created:<25}  {disabled}")
    return EXIT_OK


def _disable(settings: Settings, args: argparse.Namespace) -> int:
    name: str = args.name
    with database(settings) as db, db.write() as conn:
        before = clients.find_client(conn, name)
        if before is None:
            print(f"gateway: no client named {name[:80]!r} (see `gateway client list`)", file=sys.stderr)
            return EXIT_ERROR
        clients.disable_client(conn, name, datetime.now(UTC))
    if before.disabled_at is not None:
        print(f"client {name!r} was disabled already, at {before.disabled_at.isoformat()}", file=sys.stderr)
    else:
        within = settings.web_client_key_seconds
        when = (
            f"within {within:g} s (running daemons remember a key that long)" if within > 0 else "from now on"
        )
        print(f"client {name!r} disabled: its requests are refused {when}", file=sys.stderr)
    return EXIT_OK
