"""The `deadlines:` block of departments.yaml, read into a `gateway.deadlines.policy.DeadlinePolicy`."""

from __future__ import annotations

import dataclasses
from typing import Any

from gateway.deadlines.policy import DEFAULT_POLICY, DeadlinePolicy
from gateway.deadlines.worktime import Duration, parse_duration
from gateway.rules.reader import Reader
from gateway.rules.yamlload import YList, YMap

__all__ = ["DEFAULT_POLICY", "KEYS", "DeadlinePolicy", "load_policy"]  # the schema reads them here

KEYS = ("remind_before", "interim_at", "interim_every", "alarm_every")


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
