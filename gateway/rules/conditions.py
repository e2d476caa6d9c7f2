"""The conditions a rule can test, compiled once at load; each `match` returns its reasons or None."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from gateway.deadlines.timewindow import TimeWindow, describe_instant, minute_of_week
from gateway.rules.areas import Area
from gateway.rules.case import CaseFields

Reasons = tuple[str, ...]
_WORD = re.compile(r"\w+")  # \w is Unicode: ä, ö, å (and é, ü ...) are letters, not breaks


def base_address(address: str) -> str:
    """``palaute+talvi@hel.example`` → ``palaute@hel.example`` (RFC 5233 sub-addressing), lower-case."""
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local.split('+', 1)[0]}@{domain}"


@dataclass(frozen=True, slots=True)
class WordIndex:
    """Every ``prefix*`` used by any rule, so a case's words are looked up once per decision."""

    prefixes: frozenset[str] = frozenset()
    lengths: tuple[int, ...] = ()


class Facts:
    """One case at one instant, with the derived values rules share computed lazily, once."""

    __slots__ = ("_areas", "_hits", "_minute", "case", "index", "now", "tz")

    def __init__(self, case: CaseFields, now: datetime, tz: ZoneInfo, index: WordIndex) -> None:
        self.case, self.now, self.tz, self.index = case, now, tz, index
        self._hits: dict[str, str] | None = None
        self._minute: int | None = None
        self._areas: dict[str, bool] = {}

    @property
    def word_hits(self) -> dict[str, str]:
        """Each word of subject + text mapped to itself, and each matching ``prefix*`` to its word."""
        if self._hits is None:
            text = f"{self.case.subject}\n{self.case.text}".casefold()
            hits = {word: word for word in _WORD.findall(text)}
            prefixes, lengths = self.index.prefixes, self.index.lengths
            for word in list(hits):
                for n in lengths:
                    if n > len(word):
                        break
                    key = word[:n]
                    if key in prefixes:
                        hits.setdefault(key + "*", word)
            self._hits = hits
        return self._hits

    @property
    def minute_of_week(self) -> int:
        if self._minute is None:
            self._minute = minute_of_week(self.now, self.tz)
        return self._minute

    def in_area(self, area: Area) -> bool:
        found = self._areas.get(area.name)
        if found is None:
            loc = self.case.location
            found = self._areas[area.name] = loc is not None and area.contains(*loc)
        return found


class Condition(Protocol):
    @property
    def cost(self) -> int:
        """Rough relative cost: `all` tries cheap children first."""

    def match(self, facts: Facts) -> Reasons | None: ...
    def describe(self) -> str: ...


def _show(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"


@dataclass(frozen=True, slots=True)
class Words:
    """Whole words of subject + text; with *language*, only in feedback detected in that language.

    Swedish ``is`` (ice) is English "is" (issue 15): ``words: {sv: [is]}`` limits it to Swedish. A
    message whose language is unknown matches no limited word, like the ``language`` condition.
    """

    entries: tuple[str, ...]  # casefolded; "lum*" for prefixes
    language: str | None = None  # None: any language
    keys: frozenset[str] = field(init=False)
    cost: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(self.entries))

    def match(self, facts: Facts) -> Reasons | None:
        if self.language is not None and (facts.case.language or "").lower() != self.language:
            return None
        hits = facts.word_hits
        if self.keys.isdisjoint(hits):
            return None
        found = [(e, hits[e]) for e in self.entries if e in hits]
        suffix = "" if self.language is None else f" ({self.language})"
        return tuple(f"words: {e!r} matched {w}{suffix}" for e, w in found)

    def describe(self) -> str:
        if self.language is None:
            return f"words {_show(self.entries)}"
        return f"words {{{self.language}: [{', '.join(self.entries)}]}}"


_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def combine(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """One alternation scanning the text once, unless joining would change a pattern's meaning."""
    if len(patterns) < 2 or any(_BACKREFERENCE.search(p.pattern) for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)
    except re.error:  # e.g. the same group name twice, or a global flag not at the start
        return None


@dataclass(frozen=True, slots=True)
class Matches:
    patterns: tuple[re.Pattern[str], ...]
    combined: re.Pattern[str] | None = field(init=False, compare=False)
    cost: int = 5

    def __post_init__(self) -> None:
        object.__setattr__(self, "combined", combine(self.patterns))

    def match(self, facts: Facts) -> Reasons | None:
        haystack = f"{facts.case.subject}\n{facts.case.text}"
        if self.combined is not None and self.combined.search(haystack) is None:
            return None
        for pattern in self.patterns:
            if found := pattern.search(haystack):
                return (f"matches: {pattern.pattern!r} matched {found.group(0)!r}",)
        return None

    def describe(self) -> str:
        return f"matches {_show(tuple(p.pattern for p in self.patterns))}"


@dataclass(frozen=True, slots=True)
class Sender:
    addresses: frozenset[str]
    cost: int = 1

    def match(self, facts: Facts) -> Reasons | None:
        sender = facts.case.sender.lower()
        return (f"sender: {sender}",) if sender in self.addresses else None

    def describe(self) -> str:
        return f"sender {_show(tuple(sorted(self.addresses)))}"


@dataclass(frozen=True, slots=True)
class SenderDomain:
    """The sender's domain, or any subdomain of it (``hel.example`` covers ``edu.hel.example``)."""

    domains: frozenset[str]
    cost: int = 1

    def match(self, facts: Facts) -> Reasons | None:
        domain = facts.case.sender.lower().rpartition("@")[2]
        while domain:
            if domain in self.domains:
                return (f"sender_domain: {domain} ({facts.case.sender.lower()})",)
            domain = domain.partition(".")[2]
        return None

    def describe(self) -> str:
        return f"sender_domain {_show(tuple(sorted(self.domains)))}"


@dataclass(frozen=True, slots=True)
class Recipient:
    """A configured address without ``+`` also matches its plus-addresses; one with ``+`` is exact."""

    addresses: frozenset[str]
    cost: int = 1

    def match(self, facts: Facts) -> Reasons | None:
        for rcpt in facts.case.recipients:
            rcpt = rcpt.lower()
            for candidate in (rcpt, base_address(rcpt)):
                if candidate in self.addresses:
                    return (f"recipient: {candidate} matched {rcpt}",)
        return None

    def describe(self) -> str:
        return f"recipient {_show(tuple(sorted(self.addresses)))}"


@dataclass(frozen=True, slots=True)
class FieldIs:
    """channel / category / language: the case's field is one of the values (case-insensitive)."""

    name: str
    values: frozenset[str]
    cost: int = 1

    def match(self, facts: Facts) -> Reasons | None:
        value = getattr(facts.case, self.name)
        if value is not None and value.casefold() in self.values:
            return (f"{self.name}: {value}",)
        return None

    def describe(self) -> str:
        return f"{self.name} {_show(tuple(sorted(self.values)))}"


@dataclass(frozen=True, slots=True)
class InArea:
    areas: tuple[Area, ...]
    cost: int = 3

    def match(self, facts: Facts) -> Reasons | None:
        loc = facts.case.location
        if loc is None:
            return None
        for area in self.areas:
            if facts.in_area(area):
                return (f"area: {area.name} contains ({loc[0]}, {loc[1]})",)
        return None

    def describe(self) -> str:
        return f"area {_show(tuple(a.name for a in self.areas))}"


@dataclass(frozen=True, slots=True)
class InTime:
    windows: tuple[TimeWindow, ...]
    cost: int = 1

    def match(self, facts: Facts) -> Reasons | None:
        minute = facts.minute_of_week
        for window in self.windows:
            if window.contains_minute(minute):
                at = describe_instant(facts.now, facts.tz)
                return (f"time: {window.text} contains {at} {facts.tz.key}",)
        return None

    def describe(self) -> str:
        return f"time {_show(tuple(w.text for w in self.windows))}"


@dataclass(frozen=True, slots=True)
class All:
    children: tuple[Condition, ...]
    order: tuple[int, ...] = field(init=False)  # evaluation order: cheapest first
    cost: int = field(init=False)

    def __post_init__(self) -> None:
        order = sorted(range(len(self.children)), key=lambda i: self.children[i].cost)
        object.__setattr__(self, "order", tuple(order))
        object.__setattr__(self, "cost", sum(c.cost for c in self.children))

    def match(self, facts: Facts) -> Reasons | None:
        found: list[Reasons | None] = [None] * len(self.children)
        for i in self.order:
            reasons = self.children[i].match(facts)
            if reasons is None:
                return None
            found[i] = reasons
        return tuple(r for reasons in found if reasons for r in reasons)

    def describe(self) -> str:
        return "all of (" + "; ".join(c.describe() for c in self.children) + ")"


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Condition, ...]
    cost: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cost", sum(c.cost for c in self.children))

    def match(self, facts: Facts) -> Reasons | None:
        for child in self.children:  # in the order written: the first reason is the one people read
            reasons = child.match(facts)
            if reasons is not None:
                return reasons
        return None

    def describe(self) -> str:
        return "any of (" + "; ".join(c.describe() for c in self.children) + ")"


@dataclass(frozen=True, slots=True)
class Not:
    child: Condition
    cost: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cost", self.child.cost)

    def match(self, facts: Facts) -> Reasons | None:
        if self.child.match(facts) is None:
            return (f"not: {self.child.describe()} did not match",)
        return None

    def describe(self) -> str:
        return f"not ({self.child.describe()})"
