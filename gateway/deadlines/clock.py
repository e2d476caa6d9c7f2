"""Deadline arithmetic, pure: office time added and taken away, pauses, and which tasks a due time wants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gateway.deadlines.policy import DeadlinePolicy
from gateway.deadlines.worktime import (
    Duration,
    WorkCalendar,
    add_office_time,
    add_working_time,
    working_time_between,
)

_MAX_DAYS = 3 * 366  # as in gateway.deadlines.worktime: a calendar with no office hours is a mistake
NO_OFFICE_HOURS = "no office hours in three years: check office_hours and holidays"


@dataclass(frozen=True, slots=True)
class PlannedTask:
    key: str
    kind: str  # reminder | interim | alarm
    due_at: datetime


def iso(when: datetime) -> str:
    """A due time as it appears in task keys: UTC, to the second."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slug(d: Duration) -> str:
    return f"{d.amount}{d.unit}"


def take_office_time(end: datetime, amount: timedelta, calendar: WorkCalendar) -> datetime:
    """The latest instant from which *amount* of office time ends at *end*: counting back."""
    if amount <= timedelta(0):
        return end
    day = calendar.local_date(end)
    for _ in range(_MAX_DAYS):
        for opens, closes in reversed(calendar.office_intervals(day)):
            if opens >= end:
                continue
            finish = min(closes, end)
            if amount <= finish - opens:
                return finish - amount
            amount -= finish - opens
        day -= timedelta(days=1)
    raise ValueError(NO_OFFICE_HOURS)


def before(due: datetime, d: Duration, calendar: WorkCalendar) -> datetime:
    """*d* before *due*: the mirror of add_working_time (a working day back keeps the place in the day)."""
    if d.amount == 0:
        return due
    if d.unit in ("minutes", "hours"):
        return due - timedelta(**{d.unit: d.amount})
    if d.unit in ("days", "weeks"):
        days = d.amount * (7 if d.unit == "weeks" else 1)
        wall = due.astimezone(calendar.timezone).replace(tzinfo=None) - timedelta(days=days)
        return wall.replace(tzinfo=calendar.timezone).astimezone(UTC)
    if d.unit == "working_hours":
        return take_office_time(due, timedelta(hours=d.amount), calendar)
    day = calendar.local_date(due)
    intervals = calendar.office_intervals(day)
    elapsed = sum((min(due, c) - o for o, c in intervals if due > o), timedelta(0))
    if not elapsed:  # before the day's opening or on a day off: the place is the previous close
        day = _previous_working_day(day, calendar)
        intervals = calendar.office_intervals(day)
        elapsed = sum((c - o for o, c in intervals), timedelta(0))
    for _ in range(d.amount):
        day = _previous_working_day(day, calendar)
    target = calendar.office_intervals(day)
    length = sum((c - o for o, c in target), timedelta(0))
    return add_office_time(target[0][0], min(elapsed, length), calendar)


def _previous_working_day(day: date, calendar: WorkCalendar) -> date:
    for _ in range(_MAX_DAYS):
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            return day
    raise ValueError(NO_OFFICE_HOURS)


def resumed_due(
    due: datetime, waiting_since: datetime, resumed_at: datetime, calendar: WorkCalendar
) -> datetime:
    """The due time after a pause: later by the office time the case spent waiting for the resident."""
    paused = working_time_between(waiting_since, max(resumed_at, waiting_since), calendar)
    return add_office_time(due, paused, calendar)


def next_repeat(planned: datetime, every: Duration, now: datetime, calendar: WorkCalendar) -> datetime:
    """When a repeating notice comes next: *every* after the one planned, or after *now* if that is
    already past (a node that was down for a day sends one alarm, not a burst of them)."""
    at = add_working_time(planned, every, calendar)
    return at if at > now else add_working_time(now, every, calendar)


def wanted_tasks(
    code: str, due: datetime, policy: DeadlinePolicy, calendar: WorkCalendar, now: datetime
) -> list[PlannedTask]:
    """The first reminders, interim notices and alarm a case due at *due* wants; repeats are planned as
    each one fires. Reminders for a due time already past are not planned: the alarm speaks instead."""
    stamp = iso(due)
    found: list[PlannedTask] = []
    if due > now:
        for d in policy.remind_before:
            found.append(
                PlannedTask(f"reminder:{code}:{stamp}:{slug(d)}", "reminder", before(due, d, calendar))
            )
    for d in policy.interim_at:
        found.append(PlannedTask(f"interim:{code}:{stamp}:{slug(d)}", "interim", before(due, d, calendar)))
    found.append(PlannedTask(f"alarm:{code}:{stamp}:1", "alarm", due))
    return found


def repeat_key(key: str) -> tuple[str, int]:
    """The key of the repeat that follows *key*, and its number: alarm:C:D:3 → alarm:C:D:4; an interim
    notice at a point before the due time (interim:C:D:0hours) is followed by interim:C:D:+1."""
    head, _, tail = key.rpartition(":")
    if tail.isdigit():
        return f"{head}:{int(tail) + 1}", int(tail) + 1
    n = int(tail[1:]) + 1 if tail.startswith("+") else 1
    return f"{head}:+{n}", n
