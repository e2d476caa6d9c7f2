"""Durations ("2 working days", "4 tuntia") and working-time arithmetic over office hours and holidays.

Working time is office time: the hours inside a department's office hours on days that are not public
holidays, in the city's time zone. Two rules decide the edge cases (docs/decisions/0003):

- N working *hours* end at the earliest instant when N hours of office time have passed since the start.
- N working *days* keep the start's place in its working day: Friday 15:00 plus 2 working days is
  Tuesday 15:00. A start outside office hours counts from the next opening, and a due time that would be
  the next opening is given as the previous close instead: Saturday plus 2 working days is Tuesday 16:00
  (the same amount of office time as Wednesday 08:00, and the earlier of the two instants).

Calendar durations ("3 days", "1 week") move the local wall clock (10:00 stays 10:00 across a DST
change); "4 hours" and "30 minutes" are elapsed time. Everything returned is aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from gateway.deadlines.timewindow import TimeWindow, parse_window

Unit = Literal["minutes", "hours", "days", "weeks", "working_hours", "working_days"]

# Singular and plural forms in English, Finnish and Swedish; "working"/"työ"/"arbets" variants too.
_UNITS: dict[str, Unit] = {}
for _unit, _forms in {
    "minutes": "minute minutes min mins minuutti minuuttia minuuttia minut minuter",
    "hours": "hour hours h tunti tuntia timme timmar",
    "days": "day days päivä päivää dag dagar dygn",
    "weeks": "week weeks viikko viikkoa vecka veckor",
    "working_hours": "working-hour working-hours työtunti työtuntia arbetstimme arbetstimmar",
    "working_days": (
        "working-day working-days work-day work-days business-day business-days työpäivä "
        "työpäivää arkipäivä arkipäivää arbetsdag arbetsdagar vardag vardagar"
    ),
}.items():
    for _form in _forms.split():
        _UNITS[_form] = _unit  # type: ignore[assignment]

_DURATION = re.compile(r"^\s*(\d+)\s*(.+?)\s*$")
DEFAULT_OFFICE_HOURS = "mon-fri 08:00-16:00"
_MAX_DAYS = 3 * 366  # a calendar with no working day in three years is a configuration mistake


@dataclass(frozen=True, slots=True)
class Duration:
    """An amount of time as operations staff wrote it: 2 working_days, 4 hours ..."""

    amount: int
    unit: Unit
    text: str = ""

    def __str__(self) -> str:
        return self.text or f"{self.amount} {self.unit.replace('_', ' ')}"


def parse_duration(text: object) -> Duration:
    """Parse "2 working days", "5 työpäivää", "4 hours", "30 minutes", "1 week"; raise ValueError."""
    if isinstance(text, Duration):
        return text
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like '2 working days', got {text!r}")
    match = _DURATION.match(text.lower())
    if not match:
        raise ValueError(f"cannot read duration {text!r} (e.g. '2 working days', '4 hours')")
    unit_text = re.sub(r"\s+", "-", match[2])
    unit = _UNITS.get(unit_text) or _UNITS.get(unit_text.replace("-", ""))
    if unit is None:
        raise ValueError(
            f"cannot read duration {text!r}: unknown unit {match[2]!r} "
            "(minutes, hours, days, weeks, working hours, working days)"
        )
    return Duration(int(match[1]), unit, text.strip())


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """Public holidays of one country (the `holidays` package), looked up year by year and memoised."""

    country: str | None
    subdivision: str | None = None
    _years: dict[int, frozenset[date]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.country is not None:  # raises NotImplementedError for an unknown country code
            holidays_lib.country_holidays(self.country, subdiv=self.subdivision, years=[])

    def is_holiday(self, day: date) -> bool:
        if self.country is None:
            return False
        dates = self._years.get(day.year)
        if dates is None:
            found = holidays_lib.country_holidays(self.country, subdiv=self.subdivision, years=day.year)
            dates = self._years[day.year] = frozenset(found)
        return day in dates

    def name(self, day: date) -> str | None:
        if self.country is None:
            return None
        found = holidays_lib.country_holidays(self.country, subdiv=self.subdivision, years=day.year)
        name = found.get(day)
        return None if name is None else str(name)


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Office hours in a time zone, minus public holidays: what working time is counted over."""

    timezone: ZoneInfo
    office_hours: TimeWindow = field(default_factory=lambda: parse_window(DEFAULT_OFFICE_HOURS))
    holidays: HolidayCalendar = field(default_factory=lambda: HolidayCalendar(None))
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _later: dict[tuple[date, int], date] = field(default_factory=dict, compare=False, repr=False)

    def is_working_day(self, day: date) -> bool:
        return bool(self.office_intervals(day))

    def office_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The office-open intervals of local *day* as aware UTC pairs; () on weekends and holidays."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        result: tuple[tuple[datetime, datetime], ...] = ()
        if not self.holidays.is_holiday(day):
            midnight = datetime.combine(day, time())
            result = tuple(
                (self._utc(midnight + timedelta(minutes=s)), self._utc(midnight + timedelta(minutes=e)))
                for s, e in self.office_hours.day_intervals(day.weekday())
            )
        if len(self._days) > 4096:  # memo only; keep it bounded in a long-running daemon
            self._days.clear()
        self._days[day] = result
        return result

    def working_day_after(self, day: date, count: int = 1) -> date:
        """The *count*-th working day after *day* (memoised: deadlines cluster on the same days)."""
        key = (day, count)
        found = self._later.get(key)
        if found is None:
            found = day
            for _ in range(count):
                found = _next_working_day(found, self)
            if len(self._later) > 4096:
                self._later.clear()
            self._later[key] = found
        return found

    def _utc(self, local_wall: datetime) -> datetime:
        return local_wall.replace(tzinfo=self.timezone).astimezone(UTC)

    def local_date(self, when: datetime) -> date:
        return when.astimezone(self.timezone).date()


def _aware(when: datetime) -> datetime:
    if when.tzinfo is UTC:
        return when
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when!r}: pass an aware datetime")
    return when.astimezone(UTC)


def add_working_time(start: datetime, duration: Duration | str, calendar: WorkCalendar) -> datetime:
    """The instant *duration* after *start*, counted as the module docstring says; aware UTC."""
    start = _aware(start)
    d = parse_duration(duration)
    if d.unit == "minutes":
        return start + timedelta(minutes=d.amount)
    if d.unit == "hours":
        return start + timedelta(hours=d.amount)
    if d.unit in ("days", "weeks"):
        days = d.amount * (7 if d.unit == "weeks" else 1)
        wall = start.astimezone(calendar.timezone).replace(tzinfo=None) + timedelta(days=days)
        return wall.replace(tzinfo=calendar.timezone).astimezone(UTC)
    if d.unit == "working_hours":
        return add_office_time(start, timedelta(hours=d.amount), calendar)
    return _add_working_days(start, d.amount, calendar)


def add_office_time(start: datetime, amount: timedelta, calendar: WorkCalendar) -> datetime:
    """The instant when *amount* of office time has passed since *start*; *start* itself for nothing."""
    if amount <= timedelta(0):
        return start
    day = calendar.local_date(start)
    for _ in range(_MAX_DAYS):
        for opens, closes in calendar.office_intervals(day):
            if closes <= start:
                continue
            begin = max(opens, start)
            if amount <= closes - begin:
                return begin + amount
            amount -= closes - begin
        day += timedelta(days=1)
    raise ValueError("no office hours in three years: check office_hours and holidays")


def _day_length(intervals: tuple[tuple[datetime, datetime], ...]) -> timedelta:
    return sum((closes - opens for opens, closes in intervals), timedelta(0))


def _next_working_day(day: date, calendar: WorkCalendar, step: int = 1) -> date:
    for _ in range(_MAX_DAYS):
        day += timedelta(days=step)
        if calendar.is_working_day(day):
            return day
    raise ValueError("no office hours in three years: check office_hours and holidays")


def _add_working_days(start: datetime, count: int, calendar: WorkCalendar) -> datetime:
    if count <= 0:
        return start
    day = calendar.local_date(start)
    intervals = calendar.office_intervals(day)
    elapsed = timedelta(0)
    if intervals:
        for opens, closes in intervals:  # office time already gone today
            if start > opens:
                elapsed += min(start, closes) - opens
    else:
        day = calendar.working_day_after(day)
    length = _day_length(calendar.office_intervals(day))
    if not elapsed:
        # At (or before) the opening: the due time is the close of the count-th working day, day included.
        count -= 1
        elapsed = length
        if count == 0:
            return calendar.office_intervals(day)[-1][1]
    if count:
        day = calendar.working_day_after(day, count)
    target_intervals = calendar.office_intervals(day)
    if len(target_intervals) == 1 and len(intervals) == 1:  # the common case, without sums
        opens, closes = target_intervals[0]
        if closes - opens != length:  # days of different length: keep the fraction of the day
            elapsed = (closes - opens) * (elapsed / length)
        return opens + elapsed
    target_length = _day_length(target_intervals)
    if target_length != length:
        elapsed = target_length * (elapsed / length)
    return add_office_time(target_intervals[0][0], elapsed, calendar)


def working_time_between(a: datetime, b: datetime, calendar: WorkCalendar) -> timedelta:
    """Office time from *a* to *b*; negative when *b* is before *a* (counting back)."""
    a, b = _aware(a), _aware(b)
    if b < a:
        return -working_time_between(b, a, calendar)
    total = timedelta(0)
    day, last = calendar.local_date(a), calendar.local_date(b)
    while day <= last:
        for opens, closes in calendar.office_intervals(day):
            lo, hi = max(opens, a), min(closes, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total
