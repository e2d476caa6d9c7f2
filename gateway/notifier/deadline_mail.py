"""What reminders, interim notices and alarms say: the placeholders of their templates, from values."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.notifier.handover import local_time
from gateway.notifier.wording import word
from gateway.store.cases import CaseRow


def span(delta: timedelta) -> str:
    """A length of time the way people say it in a list: "3 d 4 h", "5 h 10 min", "20 min"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def local_date(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%d.%m.%Y")


def reminder_values(
    case: CaseRow, department: str, now: datetime, tz: ZoneInfo, language: str = "fi"
) -> dict[str, str]:
    due = case.due_at or now
    return {
        "code": case.code,
        "subject": case.subject or "-",
        "department": department,
        "received": local_time(case.created_at, tz),
        "age": span(now - case.created_at),
        "due": local_time(due, tz),
        "left": span(due - now),
        "status": word("status", case.status, language),  # in the reader's language (issue 15)
    }


def interim_values(case: CaseRow, office: str, expected: datetime, tz: ZoneInfo) -> dict[str, str]:
    """No names, no addresses: the kind of office that handles the case and when to expect an answer."""
    return {
        "code": case.code,
        "subject": case.subject or "-",
        "office": office,
        "received": local_date(case.created_at, tz),
        "expected": local_date(expected, tz),
    }


def alarm_values(
    case: CaseRow, department: str, handler: str, number: int, now: datetime, tz: ZoneInfo
) -> dict[str, str]:
    due = case.due_at or now
    return {
        "code": case.code,
        "subject": case.subject or "-",
        "department": department,
        "department_key": case.department or "-",
        "handler": handler,
        "received": local_time(case.created_at, tz),
        "due": local_time(due, tz),
        "late": span(now - due),
        "number": str(number),
    }
