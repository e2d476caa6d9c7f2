"""`gateway receipts --without-case`: every receipt that ended without a case, and why (issue 15)."""

from __future__ import annotations

import argparse
import json

from gateway.cli.common import database
from gateway.mail import parse
from gateway.settings import Settings
from gateway.store import receipts
from gateway.store.receipts import CaselessReceipt

_OUTCOMES = {
    "loop": "our own mail came back",
    "duplicate": "a Message-ID received before",
    "bounce": "a delivery status notification for no case of ours",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = sub.add_parser("receipts", help="list receipts that ended without a case, and why")
    listing.add_argument(
        "--without-case", action="store_true", required=True, help="receipts no case holds (parked too)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--limit", type=int, default=1000, help="the newest this many")


def why(receipt: CaselessReceipt, code_prefix: str) -> str:
    """Why *receipt* holds no case: a parked receipt's error, else what the message said about itself,
    worked out again from its stored bytes (the same parse that intake ran)."""
    if receipt.state == "parked":
        lines = receipt.error.strip().splitlines()
        return f"parked: {lines[-1] if lines else 'no error recorded'}"
    if receipt.outcome in _OUTCOMES:
        return _OUTCOMES[receipt.outcome]
    msg = parse(receipt.raw, mail_from=receipt.mail_from, code_prefix=code_prefix)
    if receipt.outcome == "automatic":
        return f"automatic mail: {msg.auto_reply_why or 'sent by a machine'}"
    return receipt.outcome or "no outcome recorded"


def receipts_command(settings: Settings, args: argparse.Namespace) -> int:
    with database(settings) as db:
        found = receipts.list_without_case(db, args.limit)
    rows = [
        {
            "id": r.id,
            "received_at": r.received_at.isoformat(),
            "state": r.state,
            "outcome": r.outcome or None,
            "mail_from": r.mail_from,
            "why": why(r, settings.code_prefix),
        }
        for r in found
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        print("no receipts without a case")
    for row in rows if not args.json else ():
        print(f"{row['id']}\t{row['received_at']}\t{row['state']}\t{row['outcome'] or '-'}\t{row['why']}")
    return 0
