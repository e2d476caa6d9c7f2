"""The loaded configuration as values: `Config`, `Department`, `Rule` and their parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from gateway.deadlines.policy import DEFAULT_POLICY, DeadlinePolicy
from gateway.deadlines.timewindow import TimeWindow
from gateway.deadlines.worktime import Duration, WorkCalendar
from gateway.rules.areas import Area
from gateway.rules.case import CaseFields
from gateway.rules.conditions import Condition, WordIndex, base_address

Kind = Literal["city", "contractor", "agency"]
KINDS: tuple[Kind, ...] = ("city", "contractor", "agency")
PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    secret_env: str | None = None  # name of the environment variable holding the signing secret


@dataclass(frozen=True, slots=True)
class DutyEntry:
    """One line of a duty roster: *email* receives cases during *when*; ``when=None`` is "otherwise"."""

    when: TimeWindow | None
    email: str


@dataclass(frozen=True, slots=True)
class Department:
    key: str
    name: Mapping[str, str]  # language → display name
    email: str
    kind: Kind
    answer_within: Duration
    first_response_within: Duration
    calendar: WorkCalendar  # office hours, holidays, time zone: what working time counts over
    webhook: Webhook | None = None
    escalation: str | None = None  # who hears about overdue cases
    on_duty: tuple[DutyEntry, ...] = ()
    deadlines: DeadlinePolicy | None = None  # its own `deadlines:` block; None: the file's default

    @property
    def office_hours(self) -> TimeWindow:
        return self.calendar.office_hours

    def display_name(self, language: str | None = None) -> str:
        return self.name.get(language or "fi") or next(iter(self.name.values()), self.key)

    def contact_at(self, now: datetime) -> str:
        """The address that receives a case arriving at *now*: the first duty entry whose time fits."""
        for entry in self.on_duty:
            if entry.when is None or entry.when.contains(now, self.calendar.timezone):
                return entry.email
        return self.email


@dataclass(frozen=True, slots=True)
class Example:
    """A case a rule must route as expected; `check_config` runs them like unit tests."""

    case: CaseFields
    at: datetime
    expect: str  # department
    line: int
    explicit: bool  # False when `expect` defaulted to the rule's own department


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    department: str
    priority: str
    condition: Condition | None  # None: matches everything
    line: int
    index: int
    description: str = ""
    answer_within: Duration | None = None  # overrides the department's
    first_response_within: Duration | None = None
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True, slots=True)
class Category:
    """A topic of the web form and an Open311 service (departments.yaml `categories:`, issue 17)."""

    key: str
    name: Mapping[str, str]  # fi, sv, en
    service_code: str  # Open311's
    description: Mapping[str, str] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()  # Open311's `keywords`
    group: str = ""  # Open311's `group`

    def display_name(self, language: str | None = None) -> str:
        return self.name.get(language or "fi") or next(iter(self.name.values()), self.key)


@dataclass(frozen=True, slots=True)
class Config:
    """departments.yaml + rules.yaml + areas.geojson, validated and compiled."""

    addresses: tuple[str, ...]  # lower-case
    timezone: ZoneInfo
    departments: Mapping[str, Department]
    rules: tuple[Rule, ...]
    default: str
    areas: Mapping[str, Area]
    word_index: WordIndex
    holidays: str | None = None
    departments_file: str = "departments.yaml"
    rules_file: str = "rules.yaml"
    deadlines: DeadlinePolicy = DEFAULT_POLICY  # the top-level `deadlines:` block of departments.yaml
    categories: Mapping[str, Category] = field(default_factory=dict)  # issue 17: the form's topics

    def category_by_code(self, service_code: str) -> Category | None:
        """The category Open311 names by *service_code*."""
        return next((c for c in self.categories.values() if c.service_code == service_code), None)

    def deadline_policy(self, department: str | None) -> DeadlinePolicy:
        """The reminder, interim notice and alarm schedule of *department* (issue 5)."""
        dept = self.departments.get(department) if department else None
        return dept.deadlines if dept is not None and dept.deadlines is not None else self.deadlines

    def calendar(self, department: str | None) -> WorkCalendar:
        """The working time *department*'s clocks count in: its own, else office hours in the timezone."""
        dept = self.departments.get(department) if department else None
        return dept.calendar if dept is not None else WorkCalendar(self.timezone)

    def answer_within(self, department: str | None) -> Duration | None:
        """How long *department* has to answer, in its working time (None: no such department)."""
        dept = self.departments.get(department) if department else None
        return dept.answer_within if dept is not None else None

    def department(self, name: str) -> Department:
        try:
            return self.departments[name]
        except KeyError:
            known = ", ".join(sorted(self.departments))
            raise KeyError(f"unknown department {name!r} (known: {known})") from None


def is_city_address(config: Config, address: str) -> bool:
    """True for a configured address or a plus-address of one (``palaute+x@hel.example``)."""
    address = address.strip().lower()
    return address in config.addresses or base_address(address) in config.addresses


def is_role_address(config: Config, address: str, local_parts: frozenset[str]) -> bool:
    """True for `postmaster@` (and the other role *local_parts*) at any domain of the city's addresses:
    RFC 5321 §4.5.1 requires a server to accept mail for postmaster at every domain it serves."""
    local, _, domain = address.strip().lower().rpartition("@")
    return local in local_parts and domain in {a.rpartition("@")[2] for a in config.addresses}
