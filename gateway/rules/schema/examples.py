"""Reads a rule's `examples:`, each a case (text, sender, channel, location, time) and the department
it should reach."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from gateway.mail.language import detect_language
from gateway.rules.case import CaseFields
from gateway.rules.condition_schema import CHANNELS
from gateway.rules.config import Example
from gateway.rules.reader import Reader
from gateway.rules.yamlload import YList, YMap

EXAMPLE_KEYS = (
    "text", "subject", "sender", "recipient", "channel", "category", "language", "location", "at",
    "expect",
)  # fmt: skip
# Examples without `at` are routed on an ordinary working Wednesday morning, so results never
# depend on the day check-config happens to run.
EXAMPLE_DEFAULT_AT = (date(2025, 1, 15), time(10, 0))


def read_example(
    r: Reader,
    where: str,
    item: Any,
    line: int,
    dept: str,
    departments: frozenset[str] | None,
    tz: ZoneInfo,
    addresses: list[str],
) -> Example | None:
    node = r.mapping(item, where, line, EXAMPLE_KEYS)
    if node is None:
        return None
    before = len(r.problems)
    text = {}
    for key in ("text", "subject", "sender", "category"):
        if key in node:
            text[key] = r.string(node[key], f"{where}.{key}", node.line_of(key)) or ""
    language = _example_language(r, node, where, text)
    if not text.get("text") and not text.get("subject") and "text" not in node:
        r.error(node.line, f"{where}: missing required key 'text'")
    recipients: tuple[str, ...] = tuple(addresses[:1])
    if "recipient" in node:
        given = r.strings(node["recipient"], f"{where}.recipient", node.line_of("recipient"))
        recipients = tuple(t.lower() for t, _ in given or ())
    channel = str(node.get("channel", "smtp")).lower()
    if channel not in CHANNELS:
        r.error(node.line_of("channel"), f"{where}.channel: unknown channel {channel!r}")
    location = _location(r, node, where) if "location" in node else None
    at = _instant(r, node, where, tz)
    expect = dept
    if "expect" in node:
        expect = r.string(node["expect"], f"{where}.expect", node.line_of("expect")) or ""
        if departments is not None and expect not in departments:
            r.error(node.line_of("expect"), f"{where}.expect: unknown department {expect!r}")
    if len(r.problems) > before or at is None:
        return None
    case = CaseFields(
        text=text.get("text", ""),
        subject=text.get("subject", ""),
        sender=text.get("sender", "").lower(),
        recipients=recipients,
        channel=channel,
        category=text.get("category"),
        language=language,
        location=location,
    )
    return Example(case, at, expect, node.line, "expect" in node)


def _example_language(r: Reader, node: YMap, where: str, text: dict[str, str]) -> str | None:
    """The example's `language`; without one, detected from its text as a mail's would be (issue 15).

    `language: null` stands for feedback too short or too mixed to tell.
    """
    if "language" not in node:
        return detect_language(f"{text.get('subject', '')}\n{text.get('text', '')}")
    if node["language"] is None:
        return None
    given = r.string(node["language"], f"{where}.language", node.line_of("language"))
    return None if given is None else given.lower()


def _location(r: Reader, node: YMap, where: str) -> tuple[float, float] | None:
    value = node["location"]
    ok = (
        isinstance(value, YList)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )
    if not ok or not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180):
        r.error(node.line_of("location"), f"{where}.location: expected [lat, lon], e.g. [60.1618, 24.9392]")
        return None
    return float(value[0]), float(value[1])


def _instant(r: Reader, node: YMap, where: str, tz: ZoneInfo) -> datetime | None:
    value = node.get("at")
    if value is None:
        return datetime.combine(*EXAMPLE_DEFAULT_AT, tzinfo=tz)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            r.error(node.line_of("at"), f"{where}.at: cannot read time {value!r} (e.g. 2025-01-17 15:00)")
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, EXAMPLE_DEFAULT_AT[1], tzinfo=tz)
    r.error(node.line_of("at"), f"{where}.at: cannot read time {value!r} (e.g. 2025-01-17 15:00)")
    return None
