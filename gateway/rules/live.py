"""The configuration the daemon routes with now: validated before use, swapped whole, kept on a bad edit."""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog

from gateway.rules import Config, ConfigError, is_city_address, is_role_address
from gateway.rules.check import check_examples, check_shadowed
from gateway.rules.config import Department
from gateway.rules.problems import has_errors
from gateway.rules.schema import load_with_problems

log = structlog.get_logger(__name__)


class ConfigSource(Protocol):
    """Where the configuration files are and which local parts are role addresses: the two settings this
    module reads (`gateway.settings.Settings` has both; rules import nothing of the settings layer)."""

    @property
    def config_dir(self) -> Path: ...

    @property
    def role_addresses(self) -> str: ...


def config_paths(source: ConfigSource) -> tuple[Path, Path, Path | None]:
    folder = source.config_dir
    areas = folder / "areas.geojson"
    return folder / "departments.yaml", folder / "rules.yaml", areas if areas.exists() else None


def read_config(source: ConfigSource) -> Config:
    """Load and check the configuration files the way `gateway check-config` does, examples included.

    ConfigError lists every error as `file:line: message`; warnings (a rule that can never match) are
    logged and do not stop the configuration from being used.
    """
    config, problems = load_with_problems(*config_paths(source))
    if config is None or has_errors(problems):
        raise ConfigError([p for p in problems if p.severity == "error"])
    # the load's own warnings too (a word that is a common word of another language, issue 15)
    problems += check_examples(config) + check_shadowed(config)
    if has_errors(problems):
        raise ConfigError([p for p in problems if p.severity == "error"])
    for problem in problems:
        log.warning("configuration warning", problem=str(problem))
    return config


def config_stamp(source: ConfigSource) -> tuple[tuple[str, int, int], ...]:
    """What identifies the configuration files' current contents cheaply: paths, mtimes and sizes."""
    stamp = []
    for path in config_paths(source):
        if path is None:
            continue
        try:
            st = path.stat()
        except OSError:
            stamp.append((str(path), -1, -1))
        else:
            stamp.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(stamp)


class LiveConfig:
    """Holds the current Config. Readers take `current` (one attribute read: atomic); reload swaps it."""

    def __init__(self, source: ConfigSource, config: Config) -> None:
        self._source = source
        self._role_parts = frozenset(p.strip().lower() for p in source.role_addresses.split(",") if p.strip())
        self.current = config
        self.reloads_rejected = 0  # for health and statistics: a broken edit is waiting to be fixed
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Validate the files again and swap them in; on any problem keep routing with the last good one."""
        with self._lock:
            try:
                fresh = read_config(self._source)
            except ConfigError as exc:
                self.reloads_rejected += 1
                for problem in exc.problems:
                    log.error("configuration rejected; keeping the last good one", problem=str(problem))
                return False
            self.current = fresh
            log.info("configuration reloaded", departments=len(fresh.departments), rules=len(fresh.rules))
            return True

    # The planner's view of the configuration (gateway.notifier.plan.Directory).
    @property
    def timezone(self) -> ZoneInfo:
        return self.current.timezone

    def department_name(self, key: str, language: str) -> str:
        try:
            return self.current.department(key).display_name(language)
        except KeyError:
            return key

    def category_name(self, key: str, language: str) -> str:
        """A category's name in *language* (issue 17), its key when the configuration no longer has it."""
        category = self.current.categories.get(key)
        return category.display_name(language) if category is not None else key

    def is_city_address(self, address: str) -> bool:
        return is_city_address(self.current, address)

    def is_role_address(self, address: str) -> bool:
        """postmaster@, abuse@ ... at a city domain (the `role_addresses` setting)."""
        return is_role_address(self.current, address, self._role_parts)

    def accepts(self, address: str) -> bool:
        """Whether the SMTP channel takes mail for *address*: a feedback address or a role address."""
        return self.is_city_address(address) or self.is_role_address(address)

    def contact_at(self, department: str, now: datetime) -> str | None:
        """Who receives the department's mail at *now*, after its duty roster."""
        dept = self.current.departments.get(department)
        return dept.contact_at(now) if dept else None

    def escalation(self, department: str) -> str | None:
        """Who hears when something goes wrong with the department's cases: escalation, else its email."""
        dept = self.current.departments.get(department)
        if dept is None:
            return None
        return dept.escalation or dept.email

    def handler_addresses(self, department: str) -> frozenset[str]:
        """Every address that may answer the department's cases: its email, duty roster and escalation."""
        dept = self.current.departments.get(department)
        if dept is None:
            return frozenset()
        return frozenset(a.lower() for a in _addresses(dept))

    def staff_domains(self, configured: str) -> frozenset[str]:
        """The mail domains of the city's own staff, who may answer a case through its reply token (issue
        15): *configured* (the `staff_domains` setting, comma-separated) or by default the domains of the
        addresses of the city's own departments (kind `city`). A contractor's or an agency's domain is
        not the city's: there only the department's listed contacts answer (decision 0021b)."""
        domains = {d.strip().lower().lstrip("@") for d in configured.split(",") if d.strip()}
        if not domains:
            for dept in self.current.departments.values():
                if dept.kind == "city":
                    domains |= {a.rpartition("@")[2].lower() for a in _addresses(dept)}
        return frozenset(domains)

    def department_keys(self) -> tuple[str, ...]:
        return tuple(sorted(self.current.departments))

    def webhook_secret(self, url: str) -> str | None:
        """The signing secret of the department whose webhook is *url*, from its `secret_env` variable."""
        for department in self.current.departments.values():
            if department.webhook and department.webhook.url == url and department.webhook.secret_env:
                return os.environ.get(department.webhook.secret_env) or None
        return None


def _addresses(dept: Department) -> set[str]:
    """A department's listed contacts: its email, duty roster and escalation."""
    found = {dept.email, *(entry.email for entry in dept.on_duty)}
    if dept.escalation:
        found.add(dept.escalation)
    return found
