"""Weekly time windows such as "mon-fri 07:00-15:30", "sat-sun" or "22:00-06:00" (crossing midnight)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

# English and Finnish abbreviations; Swedish "mån".."sön" too. Monday is 0 as in datetime.weekday().
_DAYS = {
    **{d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{d: i for i, d in enumerate(("ma", "ti", "ke", "to", "pe", "la", "su"))},
    **{d: i for i, d in enumerate(("mån", "tis", "ons", "tor", "fre", "lör", "sön"))},
}
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TIME_RANGE = re.compile(r"^(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})$")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A set of weekly intervals [start, end) in minutes from Monday 00:00 local time.

    Days name the day a window *starts*: "fri 22:00-06:00" runs from Friday 22:00 to Saturday 06:00.
    """

    text: str
    intervals: tuple[tuple[int, int], ...]

    def contains_minute(self, minute_of_week: int) -> bool:
        return any(start <= minute_of_week < end for start, end in self.intervals)

    def contains(self, when: datetime, tz: ZoneInfo) -> bool:
        return self.contains_minute(minute_of_week(when, tz))

    def day_intervals(self, weekday: int) -> tuple[tuple[int, int], ...]:
        """The parts of this window on *weekday*, as minutes from that day's midnight."""
        lo, hi = weekday * MINUTES_PER_DAY, (weekday + 1) * MINUTES_PER_DAY
        parts = [(max(s, lo) - lo, min(e, hi) - lo) for s, e in self.intervals if s < hi and e > lo]
        return tuple(sorted(parts))


def minute_of_week(when: datetime, tz: ZoneInfo) -> int:
    local = when.astimezone(tz)
    return local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute


def describe_instant(when: datetime, tz: ZoneInfo) -> str:
    local = when.astimezone(tz)
    return f"{DAY_NAMES[local.weekday()]} {local:%H:%M}"


def _parse_days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        bounds = [b.strip() for b in part.split("-")]
        if len(bounds) > 2 or any(b not in _DAYS for b in bounds):
            raise ValueError(f"cannot read days {part.strip()!r} (use mon, tue, ..., sun or mon-fri)")
        first, last = _DAYS[bounds[0]], _DAYS[bounds[-1]]
        days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
    return days


def _parse_minutes(hour: str, minute: str, text: str) -> int:
    h, m = int(hour), int(minute)
    if h > 24 or m > 59 or (h == 24 and m != 0):
        raise ValueError(f"no such time of day in {text!r}")
    return h * 60 + m


def parse_window(text: object) -> TimeWindow:
    """Parse "mon-fri 07:00-15:30", "sat-sun", "22:00-06:00", "ma-pe 8.00-16.00"; raise ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected a time window like 'mon-fri 07:00-15:30' (quoted), got {text!r}")
    words = text.strip().lower().split(None, 1)
    if words[0][0].isdigit():
        day_text, time_text = "", text.strip()
    else:
        day_text, time_text = words[0], (words[1] if len(words) > 1 else "")
    days = _parse_days(day_text) if day_text else list(range(7))
    if time_text:
        match = _TIME_RANGE.match(time_text.replace(" ", ""))
        if not match:
            raise ValueError(f"cannot read hours {time_text!r} (use HH:MM-HH:MM, e.g. 07:00-15:30)")
        start = _parse_minutes(match[1], match[2], text)
        end = _parse_minutes(match[3], match[4], text)
        if start == end:
            raise ValueError(f"empty time window {text!r}")
    else:
        start, end = 0, MINUTES_PER_DAY
    length = end - start if end > start else end + MINUTES_PER_DAY - start
    intervals: list[tuple[int, int]] = []
    for day in sorted(set(days)):
        s = day * MINUTES_PER_DAY + start
        e = s + length
        if e <= MINUTES_PER_WEEK:
            intervals.append((s, e))
        else:  # Sunday night into Monday morning wraps to the start of the week
            intervals.extend([(s, MINUTES_PER_WEEK), (0, e - MINUTES_PER_WEEK)])
    return TimeWindow(text.strip(), _merge(intervals))


def union(windows: list[TimeWindow] | tuple[TimeWindow, ...]) -> TimeWindow:
    """One window covering all of *windows* (used for office hours given as a list)."""
    text = ", ".join(w.text for w in windows)
    return TimeWindow(text, _merge([iv for w in windows for iv in w.intervals]))


def _merge(intervals: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return tuple(merged)
