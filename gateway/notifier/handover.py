"""Handing a case to its department: the forward mail's wording and the signed webhook document."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.model import Attachment, Case, Decision
from gateway.notifier.wording import word

SIGNATURE_HEADER = "X-Gateway-Signature"
TIMESTAMP_HEADER = "X-Gateway-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Handover:
    """Everything a hand-over says, whether by mail or by webhook."""

    case: Case
    decision: Decision
    department_name: str
    text: str
    attachments: tuple[Attachment, ...]
    reply_to: str  # the signed per-case address staff answer through
    timezone: ZoneInfo
    language: str = "fi"  # of the staff who read the mail: enum values are shown in it (issue 15)
    topic: str = ""  # the category's name, when the resident chose one (web, Open311: issue 17)


def local_time(when: datetime | None, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%d.%m.%Y %H:%M") if when else "-"


def forward_values(h: Handover) -> dict[str, str]:
    """Placeholders of the forward template. The resident's address is left out on purpose: staff answer
    through the gateway, so it stays with the city (docs/decisions/0005-handover.md)."""
    return {
        "code": h.case.code,
        "subject": h.case.subject or "-",
        "department": h.department_name,
        "priority": word("priority", h.decision.priority, h.language),
        "due": local_time(h.decision.due, h.timezone),
        "rule": h.decision.rule,
        "reasons": "; ".join(h.decision.reasons),
        "channel": word("channel", h.case.channel, h.language),
        "language": word("language", h.case.language, h.language),
        "resident": h.case.resident_name or "-",
        "topic": h.topic or "-",
        "place": place(h.case),
        "text": h.text.strip(),
    }


def place(case: Case) -> str:
    """Where the matter is, as the resident told it: the address words and the coordinates, with a
    link to the map (OpenStreetMap) that any handler can open; "-" when nothing was given."""
    parts = [case.address.strip()] if case.address.strip() else []
    if case.latitude is not None and case.longitude is not None:
        lat, lon = case.latitude, case.longitude
        parts.append(
            f"{lat:.5f}, {lon:.5f} (https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=18/{lat:.5f}/{lon:.5f})"
        )
    return " – ".join(parts) or "-"


def webhook_document(h: Handover, event: str) -> bytes:
    """The JSON a department's own case-management application receives."""
    document = {
        "event": event,
        "code": h.case.code,
        "status": str(h.case.status),
        "created_at": h.case.created_at.isoformat(),
        "department": h.decision.department,
        "priority": h.decision.priority,
        "due": h.decision.due.isoformat() if h.decision.due else None,
        "first_response_due": h.decision.first_response_due.isoformat()
        if h.decision.first_response_due
        else None,
        "rule": h.decision.rule,
        "reasons": list(h.decision.reasons),
        "channel": h.case.channel,
        "language": h.case.language,
        "subject": h.case.subject,
        "text": h.text,
        "category": h.case.category,
        "address": h.case.address,
        "location": (
            {"lat": h.case.latitude, "lon": h.case.longitude} if h.case.latitude is not None else None
        ),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in h.attachments
        ],
        "reply_to": h.reply_to,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """HMAC-SHA256 over `timestamp.body`: the receiver recomputes it and rejects stale timestamps."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def idempotency_key(dedupe_key: str) -> str:
    return hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
