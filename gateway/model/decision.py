"""Where a case goes and why, and which rules were tried before and why they did not match."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RuleMiss:
    """A rule tried before the one that matched: its name and the condition that did not hold (as
    Mailman's chains record `rule_misses`), so that `gateway route` and the console can say why."""

    rule: str
    why: str


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a case goes and why: what the rule engine returns, stored with the case."""

    department: str
    rule: str
    priority: str
    reasons: tuple[str, ...]
    contact: str | None = None  # the delivery address after the duty roster
    webhook: str | None = None
    due: datetime | None = None  # aware UTC
    first_response_due: datetime | None = None
    misses: tuple[RuleMiss, ...] = ()
