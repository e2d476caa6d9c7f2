"""The `gateway` command: run, check-config, parse, route, case, reprocess, db."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from gateway.cli.common import database
from gateway.errors import SettingsError
from gateway.settings import Settings, load_settings
from gateway.settings.reply_secret import resolve_reply_secret

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gateway", description="The city feedback gateway.")
    p.add_argument(
        "--settings", type=Path, help="a TOML settings file (else $GATEWAY_SETTINGS, then defaults)"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the daemon")
    work = sub.add_parser(
        "work", help="(started by `run`) a worker process: intake, outbox, deadlines, or the web front"
    )
    work.add_argument(
        "--loops",
        default="intake,outbox,deadlines",
        help="which of intake, outbox, deadlines this worker runs (comma-separated), or web",
    )
    work.add_argument("--http-fd", type=int, help="(web) the listening socket the parent bound")
    sub.add_parser("check-config", help="validate departments.yaml, rules.yaml and areas.geojson")

    parse = sub.add_parser("parse", help="print a mail normalised, as JSON")
    parse.add_argument("file", help="an .eml file, or - for standard input")

    route = sub.add_parser("route", help="print where a mail or a text would be routed, and why")
    route.add_argument("file", nargs="?", help="an .eml file, or - for standard input")
    route.add_argument("--text", help="route this text instead of a mail")
    route.add_argument("--subject", default="")
    route.add_argument("--sender", default="")
    route.add_argument("--channel", default="smtp")
    route.add_argument("--category")
    route.add_argument("--location", help="LAT,LON")
    route.add_argument("--at", help="route as if at this ISO time (default: now)")

    case = sub.add_parser("case", help="look at or change one case")
    case_sub = case.add_subparsers(dest="case_command", required=True, metavar="ACTION")
    show = case_sub.add_parser("show", help="print a case with its events")
    show.add_argument("code")
    show.add_argument("--json", action="store_true", help="print JSON")
    reroute = case_sub.add_parser("reroute", help="send a case to another department")
    reroute.add_argument("code")
    reroute.add_argument("department")
    reroute.add_argument("--by", default="operator", help="who reroutes (recorded on the case)")
    reroute.add_argument("--why", default="", help="why (recorded on the case)")

    reprocess = sub.add_parser("reprocess", help="replay parked receipts")
    reprocess.add_argument("ids", nargs="*", type=int, help="receipt ids (default: all parked)")
    reprocess.add_argument("--list", action="store_true", help="only list parked receipts")

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply migrations")
    db_sub.add_parser("current", help="print the schema revision")
    down = db_sub.add_parser("downgrade", help="revert migrations")
    down.add_argument("revision")

    from gateway.cli.cases import add_parsers  # issue 5: `cases --overdue`, `case status`

    add_parsers(sub, case_sub)
    from gateway.cli.receipts import add_parser as add_receipts_parser  # issue 15

    add_receipts_parser(sub)
    from gateway.cli.clients import add_parser as add_clients_parser  # issue 17

    add_clients_parser(sub)
    from gateway.cli.users import add_parser as add_users_parser  # issue 18

    add_users_parser(sub)
    return p


SIGNING_COMMANDS = frozenset({"run", "work"})  # and `case reroute`: they sign reply addresses and loop marks


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.settings)
        if args.command in SIGNING_COMMANDS or getattr(args, "case_command", None) == "reroute":
            settings = resolve_reply_secret(settings)  # issue 15: never sign with a weak key
    except SettingsError as exc:
        print(f"gateway: settings: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from gateway.runtime.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    handler = {
        "run": _run,
        "work": _run,
        "check-config": _check_config,
        "parse": _parse,
        "route": _route,
        "case": _case,
        "reprocess": _reprocess,
        "receipts": _receipts,
        "db": _db,
        "cases": _cases,
        "client": _client,
        "user": _user,
    }[args.command]
    try:
        return handler(settings, args)
    except BrokenPipeError:
        return EXIT_OK
    except SettingsError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _read_input(name: str) -> bytes:
    return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _load_live(settings: Settings) -> object:
    """The validated configuration, or None after printing every problem."""
    from gateway.rules import ConfigError
    from gateway.rules.live import read_config

    try:
        return read_config(settings)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.rules import Config
    from gateway.rules.live import LiveConfig
    from gateway.runtime.daemon import serve
    from gateway.runtime.services import ALL_LOOPS, WEB

    config = _load_live(settings)
    if not isinstance(config, Config):
        print("gateway: refusing to start with a broken configuration", file=sys.stderr)
        return EXIT_CONFIG
    role: Literal["all", "work"] = "work" if args.command == "work" else "all"
    loops = frozenset(getattr(args, "loops", "intake,outbox,deadlines").split(","))
    if unknown := loops - ALL_LOOPS - {WEB}:
        print(f"gateway: unknown loop(s) {', '.join(sorted(unknown))}", file=sys.stderr)
        return EXIT_ERROR
    http_fd = getattr(args, "http_fd", None)
    if (WEB in loops) != (http_fd is not None) or (WEB in loops and len(loops) > 1):
        print("gateway: a web process runs only `--loops web`, with --http-fd", file=sys.stderr)
        return EXIT_ERROR
    live = LiveConfig(settings, config)
    return asyncio.run(
        serve(settings, live, role=role, settings_file=args.settings, loops=loops, http_fd=http_fd)
    )


def _check_config(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.rules import check_config
    from gateway.rules.live import config_paths
    from gateway.rules.problems import has_errors

    problems = list(check_config(*config_paths(settings)))
    for problem in problems:
        print(problem, file=sys.stderr)
    if has_errors(problems):
        return EXIT_CONFIG
    print("configuration OK", file=sys.stderr)
    return EXIT_OK


def _parse(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.mail import parse, to_json

    raw = _read_input(args.file)
    _print_json(to_json(parse(raw, code_prefix=settings.code_prefix, limits=settings.parse_limits)))
    return EXIT_OK


def _route(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.route import route_command

    return route_command(settings, args)


def _case(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.case import case_command

    if args.case_command == "status":
        from gateway.cli.cases import status_command

        return status_command(settings, args)

    return case_command(settings, args)


def _cases(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.cases import cases_command

    return cases_command(settings, args)


def _reprocess(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.store import receipts

    with database(settings) as db:
        if args.list:
            parked = receipts.list_parked(db)
            for receipt_id, at, error in parked:
                last = error.strip().splitlines()[-1] if error.strip() else ""
                print(f"{receipt_id}\t{at.isoformat()}\t{last}")
            if not parked:  # issue 15: silence read as "the command did nothing"
                print("no parked receipts")
            print("receipts that ended without a case: gateway receipts --without-case", file=sys.stderr)
            return EXIT_OK
        count = receipts.requeue_parked(db, args.ids or None)
    print(f"{count} parked receipt(s) queued again; the running daemon processes them", file=sys.stderr)
    return EXIT_OK


def _receipts(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.receipts import receipts_command

    return receipts_command(settings, args)


def _client(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.clients import client_command

    return client_command(settings, args)


def _user(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.users import user_command

    return user_command(settings, args)


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.store import migrate

    with database(settings) as db:
        if args.db_command == "upgrade":
            migrate.upgrade(db)
            print(f"schema at {migrate.current_revision(db)}", file=sys.stderr)
        elif args.db_command == "downgrade":
            migrate.downgrade(db, args.revision)
            print(f"schema at {migrate.current_revision(db)}", file=sys.stderr)
        else:
            print(migrate.current_revision(db) or "(empty)")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
