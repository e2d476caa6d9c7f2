"""Loads departments.yaml, rules.yaml and areas.geojson into a `Config`, reporting every problem at once."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.deadlines.timewindow import TimeWindow, parse_window, union
from gateway.deadlines.worktime import (
    DEFAULT_OFFICE_HOURS,
    Duration,
    HolidayCalendar,
    WorkCalendar,
    parse_duration,
)
from gateway.mail.language import detect_language
from gateway.rules.areas import Area, load_areas
from gateway.rules.case import CaseFields
from gateway.rules.condition_schema import CHANNELS, ConditionBuilder
from gateway.rules.conditions import WordIndex
from gateway.rules.config import KINDS, PRIORITIES, Config, Department, DutyEntry, Example, Rule, Webhook
from gateway.rules.deadlines import DEFAULT_POLICY, DeadlinePolicy, load_policy
from gateway.rules.problems import ConfigError, Problem, has_errors
from gateway.rules.reader import Reader, suggest
from gateway.rules.yamlload import YList, YMap, load_yaml

DEPARTMENTS_KEYS = (
    "version", "timezone", "holidays", "addresses", "office_hours", "departments", "deadlines",
)  # fmt: skip
DEPARTMENT_KEYS = (
    "name", "description", "email", "kind", "webhook", "answer_within", "first_response_within",
    "office_hours", "escalation", "on_duty", "deadlines",
)  # fmt: skip
RULES_KEYS = ("version", "default", "rules")
RULE_KEYS = (
    "name", "description", "department", "priority", "when", "answer_within",
    "first_response_within", "examples",
)  # fmt: skip
EXAMPLE_KEYS = (
    "text", "subject", "sender", "recipient", "channel", "category", "language", "location", "at",
    "expect",
)  # fmt: skip
DEFAULT_ANSWER_WITHIN = "5 working days"
DEFAULT_FIRST_RESPONSE_WITHIN = "1 working day"
# Examples without `at` are routed on an ordinary working Wednesday morning, so results never
# depend on the day check-config happens to run.
EXAMPLE_DEFAULT_AT = (date(2025, 1, 15), time(10, 0))


def load_config(departments: Path, rules: Path, areas: Path | None = None) -> Config:
    """Load and validate the three files; raise `ConfigError` listing every error found."""
    config, problems = load_with_problems(departments, rules, areas)
    if config is None or has_errors(problems):
        raise ConfigError([p for p in problems if p.severity == "error"])
    return config


def load_with_problems(
    departments: Path, rules: Path, areas: Path | None = None
) -> tuple[Config | None, list[Problem]]:
    """Everything `load_config` does, returning the problems instead of raising."""
    problems: list[Problem] = []
    area_map: dict[str, Area] | None = None
    areas_failed = False
    if areas is not None:
        before = len(problems)
        area_map = load_areas(areas, problems)
        areas_failed = len(problems) > before
    dept_reader = Reader(str(departments), problems)
    base = _load_departments(dept_reader, load_yaml(departments, problems))
    rules_reader = Reader(str(rules), problems)
    addresses = None if base is None else frozenset(base["addresses"])
    builder = ConditionBuilder(rules_reader, area_map, addresses, areas_failed)
    known = None if base is None else base["names"]
    tz = ZoneInfo("UTC") if base is None else base["timezone"]
    address_list = [] if base is None else list(base["addresses"])
    rules_data = load_yaml(rules, problems)
    loaded = _load_rules(rules_reader, rules_data, builder, known, tz, address_list)
    if base is None or loaded is None or has_errors(problems) or not base["departments"]:
        return None, problems
    rule_list, default = loaded
    prefixes = frozenset(builder.prefixes)
    config = Config(
        addresses=tuple(base["addresses"]),
        timezone=tz,
        departments=MappingProxyType(base["departments"]),
        rules=tuple(rule_list),
        default=default,
        areas=MappingProxyType(area_map or {}),
        word_index=WordIndex(prefixes, tuple(sorted({len(p) for p in prefixes}))),
        holidays=base["holidays"],
        departments_file=str(departments),
        rules_file=str(rules),
        deadlines=base["deadlines"],
    )
    return config, problems


def _version(r: Reader, data: YMap) -> None:
    if "version" not in data:
        r.error(data.line, "missing required key 'version' (use version: 1)")
    elif data["version"] != 1:
        r.error(data.line_of("version"), f"version: unsupported version {data['version']!r} (use 1)")


def _duration(r: Reader, node: YMap, key: str, where: str, default: str | None) -> Duration | None:
    if key not in node:
        return None if default is None else parse_duration(default)
    try:
        return parse_duration(node[key])
    except ValueError as exc:
        r.error(node.line_of(key), f"{where}.{key}: {exc}")
        return None


def _windows(r: Reader, value: Any, where: str, line: int) -> TimeWindow | None:
    entries = r.strings(value, where, line)
    if entries is None:
        return None
    windows = []
    for text, item_line in entries:
        try:
            windows.append(parse_window(text))
        except ValueError as exc:
            r.error(item_line, f"{where}: {exc}")
    return union(windows) if len(windows) == len(entries) else None


def _load_departments(r: Reader, data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    top = r.mapping(data, "departments.yaml", 1, DEPARTMENTS_KEYS, ("timezone", "departments"))
    if top is None:
        return None
    _version(r, top)
    ok = True
    tz = ZoneInfo("UTC")
    name = r.string(top.get("timezone"), "timezone", top.line_of("timezone"))
    if name is not None:
        try:
            tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            r.error(top.line_of("timezone"), f"timezone: unknown time zone {name!r}")
            ok = False
    holidays = _holidays(r, top)
    addresses: list[str] = []
    for i, item in enumerate(top.get("addresses") or []):
        where_line = top["addresses"].line_of(i) if isinstance(top["addresses"], YList) else top.line
        email = r.email(item, f"addresses[{i}]", where_line)
        if email is not None:
            addresses.append(email)
    if "addresses" not in top:
        r.error(top.line, "missing required key 'addresses' (the addresses residents write to)")
    office = DEFAULT_OFFICE_HOURS
    default_hours: TimeWindow | None = parse_window(office)
    if "office_hours" in top:
        default_hours = _windows(r, top["office_hours"], "office_hours", top.line_of("office_hours"))
    departments: dict[str, Department] = {}
    depts = top.get("departments")
    if isinstance(depts, YMap) and depts:
        for key, node in depts.items():
            holiday_cal = holidays if holidays is not None else HolidayCalendar(None)
            hours = default_hours or parse_window(office)
            dept = _department(r, str(key), node, depts.line_of(key), tz, holiday_cal, hours)
            if dept is not None:
                departments[str(key)] = dept
    elif "departments" in top:
        r.error(top.line_of("departments"), "departments: expected a mapping of departments")
    policy = _deadlines(r, top, depts, departments)
    if not ok or holidays is None or default_hours is None or policy is None:
        departments = {}  # the file has errors: keep only the names, for checking rules.yaml
    return {
        "names": frozenset(str(k) for k in depts) if isinstance(depts, YMap) else frozenset(),
        "timezone": tz,
        "addresses": addresses,
        "departments": departments,
        "holidays": None if holidays is None else holidays.country,
        "deadlines": policy,
    }


def _deadlines(r: Reader, top: YMap, depts: Any, departments: dict[str, Department]) -> DeadlinePolicy | None:
    """The top-level `deadlines:` block, and each department's own on top of it (issue 5)."""
    policy: DeadlinePolicy | None = DEFAULT_POLICY
    if "deadlines" in top:
        policy = load_policy(r, top["deadlines"], "deadlines", top.line_of("deadlines"), DEFAULT_POLICY)
    for key, dept in list(departments.items()):
        node = depts[key]
        if isinstance(node, YMap) and "deadlines" in node:
            where, line = f"departments.{key}.deadlines", node.line_of("deadlines")
            own = load_policy(r, node["deadlines"], where, line, policy or DEFAULT_POLICY)
            departments[key] = dataclasses.replace(dept, deadlines=own)
    return policy


def _holidays(r: Reader, top: YMap) -> HolidayCalendar | None:
    value = top.get("holidays")
    line = top.line_of("holidays")
    if value is None or value is False:
        return HolidayCalendar(None)
    subdiv = None
    if isinstance(value, YMap):
        node = r.mapping(value, "holidays", line, ("country", "subdivision"), ("country",))
        if node is None or "country" not in node:
            return None
        value, subdiv = node["country"], node.get("subdivision")
    country = r.string(value, "holidays", line)
    if country is None:
        return None
    try:
        return HolidayCalendar(country.upper(), None if subdiv is None else str(subdiv))
    except NotImplementedError:
        r.error(line, f"holidays: unknown country or subdivision {country!r} (e.g. FI)")
        return None


def _department(
    r: Reader,
    key: str,
    node: Any,
    line: int,
    tz: ZoneInfo,
    holidays: HolidayCalendar,
    default_hours: TimeWindow,
) -> Department | None:
    where = f"departments.{key}"
    d = r.mapping(node, where, line, DEPARTMENT_KEYS, ("name", "email"))
    if d is None:
        return None
    before = len(r.problems)
    names: dict[str, str] = {}
    name = d.get("name")
    if isinstance(name, YMap):
        for lang, text in name.items():
            value = r.string(text, f"{where}.name.{lang}", name.line_of(lang))
            if value is not None:
                names[str(lang)] = value
    elif "name" in d:
        value = r.string(name, f"{where}.name", d.line_of("name"))
        if value is not None:
            names["fi"] = value
    email = r.email(d.get("email"), f"{where}.email", d.line_of("email")) if "email" in d else None
    kind = d.get("kind", "city")
    if kind not in KINDS:
        r.error(d.line_of("kind"), f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
    webhook = _webhook(r, d, where) if "webhook" in d else None
    answer = _duration(r, d, "answer_within", where, DEFAULT_ANSWER_WITHIN)
    first = _duration(r, d, "first_response_within", where, DEFAULT_FIRST_RESPONSE_WITHIN)
    hours: TimeWindow | None = default_hours
    if "office_hours" in d:
        hours = _windows(r, d["office_hours"], f"{where}.office_hours", d.line_of("office_hours"))
        if hours is not None and not hours.intervals:
            r.error(d.line_of("office_hours"), f"{where}.office_hours: no office hours at all")
    escalation = None
    if "escalation" in d:
        escalation = r.email(d["escalation"], f"{where}.escalation", d.line_of("escalation"))
    duty = _on_duty(r, d, where) if "on_duty" in d else ()
    if len(r.problems) > before or email is None or answer is None or first is None:
        return None
    if hours is None or duty is None:
        return None
    return Department(
        key=key,
        name=MappingProxyType(names),
        email=email,
        kind=kind,
        answer_within=answer,
        first_response_within=first,
        calendar=WorkCalendar(tz, hours, holidays),
        webhook=webhook,
        escalation=escalation,
        on_duty=duty,
    )


def _webhook(r: Reader, d: YMap, where: str) -> Webhook | None:
    node = r.mapping(d["webhook"], f"{where}.webhook", d.line_of("webhook"), ("url", "secret_env"), ("url",))
    if node is None or "url" not in node:
        return None
    url = r.string(node["url"], f"{where}.webhook.url", node.line_of("url"))
    if url is not None and not url.startswith(("https://", "http://")):
        r.error(node.line_of("url"), f"{where}.webhook.url: {url!r} is not an http(s) URL")
        return None
    secret = node.get("secret_env")
    if url is None:
        return None
    return Webhook(url, None if secret is None else str(secret))


def _on_duty(r: Reader, d: YMap, where: str) -> tuple[DutyEntry, ...] | None:
    roster = d["on_duty"]
    if not isinstance(roster, YList) or not roster:
        r.error(d.line_of("on_duty"), f"{where}.on_duty: expected a list of 'when' + 'email' entries")
        return None
    entries: list[DutyEntry] = []
    for i, item in enumerate(roster):
        at, line = f"{where}.on_duty[{i}]", roster.line_of(i)
        node = r.mapping(item, at, line, ("when", "email", "otherwise"))
        if node is None:
            continue
        if "otherwise" in node:
            if len(node) != 1 or i != len(roster) - 1:
                r.error(line, f"{at}: 'otherwise' stands alone, as the last entry")
            email = r.email(node["otherwise"], f"{at}.otherwise", node.line_of("otherwise"))
            if email is not None:
                entries.append(DutyEntry(None, email))
            continue
        if "when" not in node or "email" not in node:
            r.error(line, f"{at}: needs 'when' and 'email' (or 'otherwise: <email>' last)")
            continue
        window = _windows(r, node["when"], f"{at}.when", node.line_of("when"))
        email = r.email(node["email"], f"{at}.email", node.line_of("email"))
        if window is not None and email is not None:
            entries.append(DutyEntry(window, email))
    return tuple(entries) if len(entries) == len(roster) else None


def _load_rules(
    r: Reader,
    data: Any,
    builder: ConditionBuilder,
    departments: frozenset[str] | None,
    tz: ZoneInfo,
    addresses: list[str],
) -> tuple[list[Rule], str] | None:
    if data is None:
        return None
    top = r.mapping(data, "rules.yaml", 1, RULES_KEYS, ("default", "rules"))
    if top is None:
        return None
    _version(r, top)
    default = r.string(top.get("default"), "default", top.line_of("default")) if "default" in top else None
    if default is not None and departments is not None and default not in departments:
        hint = suggest(default, departments)
        r.error(top.line_of("default"), f"default: unknown department {default!r}{hint}")
    node = top.get("rules")
    if not isinstance(node, YList):
        if "rules" in top:
            r.error(top.line_of("rules"), "rules: expected a list of rules")
        return None
    rules: list[Rule] = []
    first_line: dict[str, int] = {}
    for i, item in enumerate(node):
        rule = _rule(r, i, item, node.line_of(i), builder, departments, tz, addresses)
        if rule is None:
            continue
        if rule.name in first_line:
            r.error(
                rule.line,
                f"rules[{i}]: duplicate rule name {rule.name!r} (first on line {first_line[rule.name]})",
            )
        first_line.setdefault(rule.name, rule.line)
        rules.append(rule)
    if default is None:
        return None
    return rules, default


def _rule(
    r: Reader,
    i: int,
    item: Any,
    line: int,
    builder: ConditionBuilder,
    departments: frozenset[str] | None,
    tz: ZoneInfo,
    addresses: list[str],
) -> Rule | None:
    where = f"rules[{i}]"
    node = r.mapping(item, where, line, RULE_KEYS, ("name", "department"))
    if node is None:
        return None
    before = r.errors
    name = r.string(node.get("name"), f"{where}.name", node.line_of("name")) if "name" in node else None
    dept = None
    if "department" in node:
        dept = r.string(node["department"], f"{where}.department", node.line_of("department"))
        if dept is not None and departments is not None and dept not in departments:
            hint = suggest(dept, departments)
            r.error(node.line_of("department"), f"{where}.department: unknown department {dept!r}{hint}")
    priority = str(node.get("priority", "normal"))
    if priority not in PRIORITIES:
        r.error(
            node.line_of("priority"), f"{where}.priority: {priority!r} is not one of {', '.join(PRIORITIES)}"
        )
    condition = None  # `when: always`
    if "when" not in node:
        # Issue 15: a rule without `when` took every case, and only later rules' examples said so.
        r.error(
            node.line,
            f"{where}: missing 'when': a rule without conditions takes every case "
            "(write 'when: always' if that is meant, or use 'default')",
        )
    elif node["when"] != "always":
        condition = builder.build(node["when"], f"{where}.when", node.line_of("when"))
    answer = _duration(r, node, "answer_within", where, None)
    first = _duration(r, node, "first_response_within", where, None)
    examples: list[Example] = []
    raw = node.get("examples")
    if "examples" in node and not isinstance(raw, YList):
        r.error(node.line_of("examples"), f"{where}.examples: expected a list of examples")
    elif isinstance(raw, YList):
        for j, ex in enumerate(raw):
            example = _example(
                r, f"{where}.examples[{j}]", ex, raw.line_of(j), dept or "", departments, tz, addresses
            )
            if example is not None:
                examples.append(example)
    if r.errors > before or name is None or dept is None:
        return None
    return Rule(
        name=name,
        department=dept,
        priority=priority,
        condition=condition,
        line=node.line,
        index=i,
        description=str(node.get("description", "")),
        answer_within=answer,
        first_response_within=first,
        examples=tuple(examples),
    )


def _example(
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
