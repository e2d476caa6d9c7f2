"""`DeadlinePolicy`: when reminders, interim notices and alarms fall, and its `deadlines:` block in YAML."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gateway.deadlines.worktime import Duration, parse_duration
from gateway.rules.reader import Reader
from gateway.rules.yamlload import YList, YMap

KEYS = ("remind_before", "interim_at", "interim_every", "alarm_every")
# Frozen values, so sharing them as defaults is safe.
ONE_WORKING_DAY = Duration(1, "working_days", "1 working day")
FIVE_WORKING_DAYS = Duration(5, "working_days", "5 working days")
AT_DUE = Duration(0, "hours", "0 hours")


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    """The schedule around a case's answer due time, counted in the department's working time.

    Reminders to the handler fall *remind_before* the due time; the resident's interim notice falls
    *interim_at* before it (0 hours: at the due time) and again every *interim_every* while the case stays
    unanswered; the alarm to the escalation contact falls at the due time and every *alarm_every* after.
    """

    remind_before: tuple[Duration, ...] = (ONE_WORKING_DAY,)
    interim_at: tuple[Duration, ...] = (AT_DUE,)
    interim_every: Duration = FIVE_WORKING_DAYS
    alarm_every: Duration = ONE_WORKING_DAY


DEFAULT_POLICY = DeadlinePolicy()


def load_policy(r: Reader, value: Any, where: str, line: int, base: DeadlinePolicy) -> DeadlinePolicy | None:
    """Read a `deadlines:` mapping; keys it leaves out keep *base*'s values. None (after recording why)
    when something in it is wrong."""
    node = r.mapping(value, where, line, KEYS)
    if node is None:
        return None
    before = len(r.problems)
    changes: dict[str, object] = {}
    for key in ("remind_before", "interim_at"):
        if key in node:
            changes[key] = _durations(r, node[key], f"{where}.{key}", node.line_of(key))
    for key in ("interim_every", "alarm_every"):
        if key in node:
            every = _duration(r, node[key], f"{where}.{key}", node.line_of(key))
            if every is not None and every.amount == 0:
                r.error(node.line_of(key), f"{where}.{key}: must be more than 0")
            changes[key] = every
    if len(r.problems) > before:
        return None
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _duration(r: Reader, value: Any, where: str, line: int) -> Duration | None:
    text = r.string(value, where, line)
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        r.error(line, f"{where}: {exc}")
        return None


def _durations(r: Reader, value: Any, where: str, line: int) -> tuple[Duration, ...] | None:
    """One duration or a list of them; an empty list turns the notice off."""
    if isinstance(value, YList):
        found = [_duration(r, item, f"{where}[{i}]", value.line_of(i)) for i, item in enumerate(value)]
        return None if None in found else tuple(d for d in found if d is not None)
    if isinstance(value, YMap):
        r.error(line, f"{where}: expected a duration or a list of them, got a mapping")
        return None
    one = _duration(r, value, where, line)
    return None if one is None else (one,)
