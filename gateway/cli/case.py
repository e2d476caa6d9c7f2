"""`gateway case show|reroute`: one case, for an operator at a terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gateway.cli.common import database, read_code
from gateway.model import Case
from gateway.settings import Settings
from gateway.store import cases as case_store
from gateway.store.cases import EventRow
from gateway.store.codec import decision_json
from gateway.store.db import Database


def case_json(case: Case, events: list[EventRow], files: list[tuple[str, str, int]]) -> dict[str, Any]:
    return {
        "code": case.code,
        "status": str(case.status),
        "channel": case.channel,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "resident": {"email": case.resident_email, "name": case.resident_name},
        "language": case.language,
        "subject": case.subject,
        "text": case.text,
        "department": case.department,
        "rule": case.rule,
        "priority": case.priority,
        "due": case.due_at.isoformat() if case.due_at else None,
        "decision": decision_json(case.decision) if case.decision else None,
        "attachments": [{"filename": f, "content_type": t, "size": s} for f, t, s in files],
        "events": [
            {"kind": e.kind, "at": e.at.isoformat(), "actor": e.actor, "text": e.text, "data": e.data}
            for e in events
        ],
    }


def case_command(settings: Settings, args: argparse.Namespace) -> int:
    code = read_code(settings, args.code)
    if code is None:
        return 2
    with database(settings) as db:
        return _case_command(settings, args, db, code)


def _case_command(settings: Settings, args: argparse.Namespace, db: Database, code: str) -> int:
    if args.case_command == "reroute":
        return _reroute(settings, db, code, args.department, args.by, args.why)
    with db.read() as conn:
        case = case_store.get_case(conn, code=code)
        if case is None:
            print(f"gateway: no case {code}", file=sys.stderr)
            return 1
        view = case_json(
            case, case_store.list_events(conn, case.id), case_store.list_attachments(conn, case.id)
        )
    if args.json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
        return 0
    print(f"{view['code']}  {view['status']}  {view['department'] or '-'}  due {view['due'] or '-'}")
    print(f"from {case.resident_name} <{case.resident_email}> via {case.channel}, {view['created_at']}")
    print(f"subject: {case.subject}\n")
    for event in view["events"]:
        print(f"- {event['at']}  {event['kind']}  {event['actor']}")
        if event["text"]:
            print("  " + event["text"].strip().replace("\n", "\n  ")[:2000])
    return 0


def _reroute(settings: Settings, db: Database, code: str, department: str, actor: str, why: str) -> int:
    """`gateway case reroute CODE DEPARTMENT`: the daemon's outbox worker sends the new hand-over."""
    from gateway.casework.reroute import reroute
    from gateway.errors import NoSuchCase, UnknownDepartment
    from gateway.rules import ConfigError
    from gateway.runtime.build import Gateway, load_live

    try:
        live = load_live(settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    gateway = Gateway(settings, live, db)  # its clock is the daemon's: the outbox sends on it
    try:
        name = reroute(db, live, gateway.planner, code, department, actor=actor, why=why, now=gateway.clock())
    except UnknownDepartment as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except NoSuchCase as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 1
    print(f"{code} rerouted to {department} ({name})")
    return 0
