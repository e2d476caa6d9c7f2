"""The configuration the daemon routes with now: validated before use, swapped whole, kept on a bad edit."""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from gateway.rules import Config, ConfigError, load_config
from gateway.settings import Settings

log = structlog.get_logger(__name__)


def config_paths(settings: Settings) -> tuple[Path, Path, Path | None]:
    areas = settings.path("areas.geojson")
    return settings.path("departments.yaml"), settings.path("rules.yaml"), areas if areas.exists() else None


def read_config(settings: Settings) -> Config:
    """Load and validate the configuration files; ConfigError lists every problem as `file:line: message`."""
    return load_config(*config_paths(settings))


class LiveConfig:
    """Holds the current Config. Readers take `current` (one attribute read: atomic); reload swaps it."""

    def __init__(self, settings: Settings, config: Config) -> None:
        self._settings = settings
        self.current = config
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Validate the files again and swap them in; on any problem keep routing with the last good one."""
        with self._lock:
            try:
                fresh = read_config(self._settings)
            except ConfigError as exc:
                for problem in exc.problems:
                    log.error("configuration rejected; keeping the last good one", problem=str(problem))
                return False
            self.current = fresh
            log.info("configuration reloaded", departments=len(fresh.departments), rules=len(fresh.rules))
            return True

    def is_city_address(self, address: str) -> bool:
        from gateway.rules import is_city_address

        return is_city_address(self.current, address)
