"""Durations and working-time arithmetic: weekends, Finnish holidays, office hours and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.rules import (
    Duration,
    HolidayCalendar,
    WorkCalendar,
    add_working_time,
    parse_duration,
    parse_window,
    working_time_between,
)

HKI = ZoneInfo("Europe/Helsinki")
CAL = WorkCalendar(HKI, holidays=HolidayCalendar("FI"))


def hki(*args: int) -> datetime:
    return datetime(*args, tzinfo=HKI)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("2 working days", 2, "working_days"),
        ("5 working days", 5, "working_days"),
        ("1 working day", 1, "working_days"),
        ("4 hours", 4, "hours"),
        ("4 working hours", 4, "working_hours"),
        ("1 week", 1, "weeks"),
        ("3 days", 3, "days"),
        ("30 minutes", 30, "minutes"),
        ("2 työpäivää", 2, "working_days"),
        ("5 arkipäivää", 5, "working_days"),
        ("4 tuntia", 4, "hours"),
        ("4 työtuntia", 4, "working_hours"),
        ("1 viikko", 1, "weeks"),
        ("30 minuuttia", 30, "minutes"),
        ("2 arbetsdagar", 2, "working_days"),
        ("  3   Working   Days ", 3, "working_days"),
    ],
)
def test_parse_duration(text: str, amount: int, unit: str) -> None:
    assert parse_duration(text) == Duration(amount, unit, text.strip())  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "two days", "2", "2 fortnights", "-1 day", "1.5 hours", None, 5])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


CASES = [
    # (start, duration, expected local result)
    (hki(2025, 1, 17, 15), "2 working days", hki(2025, 1, 21, 15)),  # Fri 15:00 -> Tue 15:00
    (hki(2025, 1, 18, 10), "2 working days", hki(2025, 1, 21, 16)),  # Sat -> Tue close
    (hki(2025, 1, 17, 7), "2 working days", hki(2025, 1, 20, 16)),  # before opening: Fri counts
    (hki(2025, 1, 17, 17), "1 working day", hki(2025, 1, 20, 16)),  # after close: Mon close
    (hki(2025, 1, 13, 8), "1 working day", hki(2025, 1, 13, 16)),  # at opening: that day's close
    (hki(2025, 1, 17, 15), "4 working hours", hki(2025, 1, 20, 11)),
    (hki(2025, 1, 17, 12), "4 working hours", hki(2025, 1, 17, 16)),  # exactly to the close
    (hki(2025, 1, 17, 15), "4 hours", hki(2025, 1, 17, 19)),
    (hki(2025, 1, 17, 15), "30 minutes", hki(2025, 1, 17, 15, 30)),
    (hki(2025, 1, 17, 15), "3 days", hki(2025, 1, 20, 15)),
    (hki(2025, 1, 17, 15), "1 week", hki(2025, 1, 24, 15)),
    # Independence Day, Saturday 6 Dec 2025 is a weekend anyway; Friday 6 Dec 2024 is not:
    (hki(2024, 12, 5, 10), "1 working day", hki(2024, 12, 9, 10)),
    # Christmas: Eve, Day and Boxing Day 2024 fell on Tue-Thu
    (hki(2024, 12, 23, 10), "1 working day", hki(2024, 12, 27, 10)),
    (hki(2024, 12, 23, 10), "5 working days", hki(2025, 1, 3, 10)),  # New Year's Day skipped too
    # Midsummer Eve, Friday 20 June 2025
    (hki(2025, 6, 19, 12), "1 working day", hki(2025, 6, 23, 12)),
    (hki(2025, 6, 19, 12), "8 working hours", hki(2025, 6, 23, 12)),
    # DST starts Sunday 30 March 2025 03:00 -> 04:00: local clock times are kept, UTC shifts
    (hki(2025, 3, 28, 10), "1 working day", hki(2025, 3, 31, 10)),
    (hki(2025, 3, 29, 10), "2 days", hki(2025, 3, 31, 10)),
    (hki(2025, 3, 29, 10), "48 hours", hki(2025, 3, 31, 11)),  # elapsed: the lost hour shows
    # DST ends Sunday 26 October 2025 04:00 -> 03:00
    (hki(2025, 10, 24, 15), "2 working days", hki(2025, 10, 28, 15)),
    (hki(2025, 10, 25, 10), "48 hours", hki(2025, 10, 27, 9)),
]


@pytest.mark.parametrize(
    ("start", "duration", "expected"), CASES, ids=[f"{c[0]:%a %d.%m %H:%M}+{c[1]}" for c in CASES]
)
def test_add_working_time(start: datetime, duration: str, expected: datetime) -> None:
    result = add_working_time(start, duration, CAL)
    assert result == expected
    assert result.tzinfo is UTC


def test_holidays_are_finnish() -> None:
    for day in (date(2024, 12, 6), date(2024, 12, 24), date(2024, 12, 25), date(2025, 6, 20)):
        assert CAL.holidays.is_holiday(day)
        assert not CAL.is_working_day(day)
    assert CAL.is_working_day(date(2024, 12, 27))


def test_office_hours_of_department() -> None:
    cal = WorkCalendar(HKI, parse_window("mon-fri 07:00-15:30"), HolidayCalendar("FI"))
    assert add_working_time(hki(2025, 1, 17, 15), "1 working day", cal) == hki(2025, 1, 20, 15)
    assert add_working_time(hki(2025, 1, 17, 15), "1 working hour", cal) == hki(2025, 1, 20, 7, 30)


def test_days_of_different_length_keep_the_fraction() -> None:
    # Friday is a short day: halfway through Thursday (12:00) + 1 working day = halfway through Friday.
    hours = [parse_window("mon-thu 08:00-16:00"), parse_window("fri 08:00-12:00")]
    from gateway.deadlines.timewindow import union

    cal = WorkCalendar(HKI, union(hours))
    assert add_working_time(hki(2025, 1, 16, 12), "1 working day", cal) == hki(2025, 1, 17, 10)


def test_working_time_between() -> None:
    assert working_time_between(hki(2025, 1, 17, 15), hki(2025, 1, 21, 15), CAL) == timedelta(hours=16)
    assert working_time_between(hki(2025, 1, 21, 15), hki(2025, 1, 17, 15), CAL) == -timedelta(hours=16)
    # The DST weekend does not change an office day's length.
    assert working_time_between(hki(2025, 3, 28, 8), hki(2025, 3, 31, 16), CAL) == timedelta(hours=16)
    assert working_time_between(hki(2024, 12, 23, 0), hki(2024, 12, 28, 0), CAL) == timedelta(hours=16)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_working_time(datetime(2025, 1, 17, 15), "1 working day", CAL)


instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(start=instants, days=st.integers(min_value=1, max_value=30))
def test_working_day_due_never_on_weekend_or_holiday(start: datetime, days: int) -> None:
    due = add_working_time(start, Duration(days, "working_days"), CAL)
    local = due.astimezone(HKI)
    assert local.weekday() < 5
    assert not CAL.holidays.is_holiday(local.date())
    assert 8 <= local.hour < 16 or (local.hour, local.minute, local.second) == (16, 0, 0)
    assert due > start


@settings(max_examples=300, deadline=None)
@given(start=instants, days=st.integers(min_value=0, max_value=30))
def test_working_days_count_back(start: datetime, days: int) -> None:
    due = add_working_time(start, Duration(days, "working_days"), CAL)
    assert working_time_between(start, due, CAL) == timedelta(hours=8 * days)
    assert working_time_between(due, start, CAL) == -timedelta(hours=8 * days)


@settings(max_examples=300, deadline=None)
@given(start=instants, minutes=st.integers(min_value=0, max_value=60 * 200))
def test_working_hours_count_back(start: datetime, minutes: int) -> None:
    due = add_working_time(start, Duration(minutes, "minutes"), CAL)
    assert due - start == timedelta(minutes=minutes)
    hours = minutes // 60
    due = add_working_time(start, Duration(hours, "working_hours"), CAL)
    assert working_time_between(start, due, CAL) == timedelta(hours=hours)
    # and due is the earliest such instant: a second earlier is short of the amount
    if hours:
        assert working_time_between(start, due - timedelta(seconds=1), CAL) < timedelta(hours=hours)


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    hour=st.integers(min_value=9, max_value=15),  # 08:00 is the opening: due at a close instead
)
def test_working_days_keep_the_local_clock_across_dst(day: date, hour: int) -> None:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=HKI)
    if not CAL.is_working_day(day):
        return
    due = add_working_time(start, "3 working days", CAL).astimezone(HKI)
    assert (due.hour, due.minute) == (hour, 0)
