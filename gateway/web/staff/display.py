"""How the console shows an office and a moment: the office's public name in the page's language, and a
time in the city's zone as people read it here (4.12.2026 10.15)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.rules import Config


def office_name(config: Config, key: str | None, lang: str) -> str:
    department = config.departments.get(key) if key else None
    return department.display_name(lang) if department is not None else (key or "–")


def local_time(tz: ZoneInfo) -> Callable[[datetime | None], str]:
    def when(at: datetime | None) -> str:
        if at is None:
            return "–"
        local = at.astimezone(tz)
        return f"{local.day}.{local.month}.{local.year} {local.hour:02d}.{local.minute:02d}"

    return when
