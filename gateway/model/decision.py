"""Where a case goes and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
