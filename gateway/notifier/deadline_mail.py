"""Reminders, interim notices and alarms: what they say (their templates' placeholders) and their way out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from gateway.model import Address, Case
from gateway.notifier.handover import local_time
from gateway.notifier.outbound import Mail, Outbound
from gateway.notifier.wording import word

ReplyTo = Callable[[str, str | None], str]  # the signed reply address of a case and its department


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
    case: Case, department: str, now: datetime, tz: ZoneInfo, language: str = "fi"
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


def interim_values(case: Case, office: str, expected: datetime, tz: ZoneInfo) -> dict[str, str]:
    """No names, no addresses: the kind of office that handles the case and when to expect an answer."""
    return {
        "code": case.code,
        "subject": case.subject or "-",
        "office": office,
        "received": local_date(case.created_at, tz),
        "expected": local_date(expected, tz),
    }


def alarm_values(
    case: Case, department: str, handler: str, number: int, now: datetime, tz: ZoneInfo
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


class NoticeDirectory(Protocol):
    """What the notices read of the configuration in force (gateway.rules.live.LiveConfig)."""

    @property
    def timezone(self) -> ZoneInfo: ...

    def department_name(self, key: str, language: str) -> str: ...


class DeadlineMail:
    """The mail the deadline worker owes (`gateway.deadlines.worker.Notices`), each queued under its task's
    key through the one outbound path, so that a reminder, an interim notice or an alarm meets the same
    guard (bounced addresses, rate limits, addresses we never write to) as every other mail."""

    def __init__(
        self, outbound: Outbound, directory: NoticeDirectory, reply_to: ReplyTo, staff_language: str = "fi"
    ) -> None:
        self._out = outbound
        self._directory = directory
        self._reply_to = reply_to
        self._staff_language = staff_language

    def remind(
        self, conn: Connection, key: str, case: Case, to: str, thread: str | None, now: datetime
    ) -> str | None:
        language = self._staff_language
        name = self._directory.department_name(case.department or "", language)
        values = reminder_values(case, name, now, self._directory.timezone, language)
        return self._staff(conn, key, "reminder", case, to, values, thread, now)

    def interim(
        self, conn: Connection, key: str, case: Case, expected: datetime, now: datetime
    ) -> str | None:
        office = self._directory.department_name(case.department or "", case.language)
        values = interim_values(case, office, expected, self._directory.timezone)
        # To the resident, in the case's thread, with a null reverse-path (RFC 3834 section 3.3).
        thread = case.message_id
        mail = Mail(
            key=key,
            kind="interim",
            to=Address(case.resident_email),
            template="interim",
            language=case.language,
            values=values,
            in_reply_to=thread,
            references=(thread,) if thread else (),
        )
        return self._queue(conn, mail, case, now)

    def alarm(
        self,
        conn: Connection,
        key: str,
        case: Case,
        to: str,
        handler: str,
        number: int,
        thread: str | None,
        now: datetime,
    ) -> str | None:
        name = self._directory.department_name(case.department or "", self._staff_language)
        values = alarm_values(case, name, handler, number, now, self._directory.timezone)
        return self._staff(conn, key, "alarm", case, to, values, thread, now)

    def _staff(
        self,
        conn: Connection,
        key: str,
        kind: str,
        case: Case,
        to: str,
        values: dict[str, str],
        thread: str | None,
        now: datetime,
    ) -> str | None:
        # Staff mail goes out with our address as the envelope sender, so that a bounce comes back to us,
        # and with the case's signed reply address, so that the handler can answer the notice itself.
        mail = Mail(
            key=key,
            kind=kind,
            to=Address(to),
            template=kind,
            language=self._staff_language,
            values=values,
            in_reply_to=thread,
            references=(thread,) if thread else (),
            reply_to=self._reply_to(case.code, case.department),
            mail_from=self._out.identity.address,
        )
        return self._queue(conn, mail, case, now)

    def _queue(self, conn: Connection, mail: Mail, case: Case, now: datetime) -> str | None:
        """None when queued (now or by an earlier try of the task); else why the guard held it back."""
        return self._out.offer(conn, mail, case.id, now).held
