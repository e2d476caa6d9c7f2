"""`gateway route`: where a mail or a text would go, and why, without storing anything."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from gateway.mail import detect_language, parse
from gateway.mail.automatic import receipt_withheld
from gateway.model import Decision, InboundMessage
from gateway.rules import CaseFields, ConfigError, route
from gateway.rules.live import read_config
from gateway.settings import Settings


def decision_view(decision: Decision) -> dict[str, object]:
    return {
        "department": decision.department,
        "rule": decision.rule,
        "priority": decision.priority,
        "due": decision.due.isoformat() if decision.due else None,
        "first_response_due": decision.first_response_due.isoformat()
        if decision.first_response_due
        else None,
        "contact": decision.contact,
        "webhook": decision.webhook,
        "reasons": list(decision.reasons),
        # the rules tried before, and the condition each missed on: why a rule did not match
        "missed": [{"rule": m.rule, "why": m.why} for m in decision.misses],
    }


def intake_view(msg: InboundMessage) -> dict[str, object]:
    """What intake would do with *msg* besides routing it: the verdict `gateway parse` prints (issue 15)."""
    return {
        "auto_reply": msg.auto_reply,
        "auto_reply_signal": str(msg.auto_reply_signal),
        "opens_case": not (msg.auto_reply or msg.bounce or msg.loop_marker),
        "receipt_withheld": receipt_withheld(msg),
    }


def _location(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    lat, _, lon = text.partition(",")
    return float(lat), float(lon)


def route_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        config = read_config(settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        now = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=config.timezone)
        location = _location(args.location)
    except ValueError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    mail_view: dict[str, object] = {}
    if args.text is not None:
        fields = CaseFields(
            text=args.text,
            subject=args.subject,
            sender=args.sender.lower(),
            recipients=(config.addresses[0],),
            channel=args.channel,
            category=args.category,
            language=detect_language(f"{args.subject}\n{args.text}"),  # as a mail's (issue 15)
            location=location,
        )
    elif args.file:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        msg = parse(raw, code_prefix=settings.code_prefix, limits=settings.parse_limits)
        fields = CaseFields.from_message(msg, args.channel, category=args.category, location=location)
        mail_view = intake_view(msg)
    else:
        print("gateway: route needs FILE.eml or --text", file=sys.stderr)
        return 2
    view = {**decision_view(route(config, fields, now)), **mail_view}
    print(json.dumps(view, ensure_ascii=False, indent=2))
    return 0
