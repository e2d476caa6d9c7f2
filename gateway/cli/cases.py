"""`gateway cases --overdue` and `gateway case status`: the open cases' clocks, for an operator."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from sqlalchemy import select

from gateway.cli.common import database, read_code
from gateway.model import CaseStatus, EventKind
from gateway.notifier.deadline_mail import span
from gateway.settings import Settings
from gateway.store import cases as case_store
from gateway.store.tables import cases

OPEN_STATUSES = (str(CaseStatus.NEW), str(CaseStatus.ROUTED))


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    case_sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """The `cases` command and the `case status` action."""
    listing = sub.add_parser("cases", help="list cases: the overdue ones with --overdue")
    listing.add_argument("--overdue", action="store_true", help="only open cases past their answer due time")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--limit", type=int, default=1000)
    status = case_sub.add_parser(
        "status", help="set a case waiting for the resident, and back; answered, closed"
    )
    status.add_argument("code")
    status.add_argument("status", choices=[str(s) for s in CaseStatus if s is not CaseStatus.NEW])
    status.add_argument("--by", default="operator", help="who changes it (recorded on the case)")
    status.add_argument("--why", default="", help="why (recorded on the case)")


def cases_command(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    with database(settings) as db, db.read() as conn:
        query = select(cases.c.code, cases.c.department, cases.c.status, cases.c.due_at)
        if args.overdue:
            # ix_cases_status_due_at_id: one index range per open status
            query = query.where(cases.c.status.in_(OPEN_STATUSES), cases.c.due_at < now)
            query = query.order_by(cases.c.due_at)
        else:
            query = query.order_by(cases.c.id.desc())
        rows = conn.execute(query.limit(args.limit)).all()
    found = [
        {
            "code": r.code,
            "department": r.department,
            "status": r.status,
            "due": r.due_at.isoformat() if r.due_at else None,
            "late_seconds": int((now - r.due_at).total_seconds()) if r.due_at and r.due_at < now else 0,
        }
        for r in rows
    ]
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    for item, row in zip(found, rows, strict=True):
        late = span(now - row.due_at) if item["late_seconds"] else "-"
        due = row.due_at.strftime("%Y-%m-%d %H:%M") if row.due_at else "-"
        print(
            f"{item['code']}  {item['department'] or '-':<16} {item['status']:<9} due {due} UTC  late {late}"
        )
    return 0


def status_command(settings: Settings, args: argparse.Namespace) -> int:
    """Set the status, record who and why, and plan the case's deadlines (a pause moves the due time)."""
    from gateway.deadlines.plan import set_status
    from gateway.rules import ConfigError
    from gateway.rules.live import read_config

    code = read_code(settings, args.code)
    if code is None:
        return 2
    try:
        config = read_config(settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    with database(settings) as db, db.write() as conn:
        case = case_store.get_case(conn, code=code)
        if case is None:
            print(f"gateway: no case {code}", file=sys.stderr)
            return 1
        text = f"status {case.status} -> {args.status}" + (f": {args.why}" if args.why else "")
        case_store.insert_event(conn, case.id, EventKind.NOTE, now, actor=args.by, text=text)
        fresh = set_status(conn, case, CaseStatus(args.status), now, config)
    due = fresh.due_at.isoformat() if fresh.due_at else "-"
    print(f"{code} {fresh.status}; answer due {due}")
    return 0
