"""Reads departments.yaml: time zone, holidays, addresses, office hours and each department's contacts,
webhook, duty roster, calendar and deadlines."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.deadlines.timewindow import TimeWindow, parse_window, union
from gateway.deadlines.worktime import DEFAULT_OFFICE_HOURS, HolidayCalendar, WorkCalendar
from gateway.rules.config import KINDS, Department, DutyEntry, Webhook
from gateway.rules.deadlines import DEFAULT_POLICY, DeadlinePolicy, load_policy
from gateway.rules.reader import Reader
from gateway.rules.schema.categories import load_categories
from gateway.rules.schema.fields import check_version, read_duration
from gateway.rules.yamlload import YList, YMap

DEPARTMENTS_KEYS = (
    "version", "timezone", "holidays", "addresses", "office_hours", "departments", "deadlines", "categories",
)  # fmt: skip
DEPARTMENT_KEYS = (
    "name", "description", "email", "kind", "webhook", "answer_within", "first_response_within",
    "office_hours", "escalation", "on_duty", "deadlines",
)  # fmt: skip
DEFAULT_ANSWER_WITHIN = "5 working days"
DEFAULT_FIRST_RESPONSE_WITHIN = "1 working day"


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


def load_departments(r: Reader, data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    top = r.mapping(data, "departments.yaml", 1, DEPARTMENTS_KEYS, ("timezone", "departments"))
    if top is None:
        return None
    check_version(r, top)
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
    categories = load_categories(r, top)
    if not ok or holidays is None or default_hours is None or policy is None:
        departments = {}  # the file has errors: keep only the names, for checking rules.yaml
    return {
        "names": frozenset(str(k) for k in depts) if isinstance(depts, YMap) else frozenset(),
        "timezone": tz,
        "addresses": addresses,
        "departments": departments,
        "holidays": None if holidays is None else holidays.country,
        "deadlines": policy,
        "categories": categories,
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
    answer = read_duration(r, d, "answer_within", where, DEFAULT_ANSWER_WITHIN)
    first = read_duration(r, d, "first_response_within", where, DEFAULT_FIRST_RESPONSE_WITHIN)
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
