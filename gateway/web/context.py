"""What the web front's pages and APIs are given by the composition root: the receipt port, the
database to read from, the configuration in force, the clock and the settings they need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gateway.casework.console import ConsoleDesk
from gateway.intake.ports import Receiver
from gateway.rules import Config
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.web.limits import RateLimiter


@dataclass(frozen=True, slots=True)
class WebContext:
    receiver: Receiver  # every submission goes in here, and is answered only after it returns
    db: Database  # read only: pages read through the store's read side
    config: Callable[[], Config]  # the configuration in force (categories, department names, areas)
    settings: Settings
    clock: Callable[[], datetime]
    form_key: bytes  # signs form tokens and answer-page links (derived from the reply secret)
    posts: RateLimiter = field(default_factory=lambda: RateLimiter(0, 0))  # form, webhook, Open311 POSTs
    lookups: RateLimiter = field(default_factory=lambda: RateLimiter(0, 0))  # tracking-code look-ups
    console: ConsoleDesk | None = None  # what staff do to a case from the console (issue 18)

    @property
    def prefix(self) -> str:
        return self.settings.code_prefix

    def track_url(self, code: str) -> str:
        """The tracking page of *code*, as residents reach it (in mail and in API answers)."""
        return f"{self.settings.web_url}/track/{code}"
