"""Loads departments.yaml, rules.yaml and areas.geojson into a `Config`, reporting every problem at once.

The package is split along the files' seams: `departments` reads departments.yaml (contacts, calendars,
duty rosters, webhooks, deadlines), `rules` reads rules.yaml, `examples` each rule's examples, and
`fields` the keys both files share. This module joins them; every public name of the former
single module `gateway.rules.schema` is still importable from here.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

from gateway.rules.areas import Area, load_areas
from gateway.rules.condition_schema import ConditionBuilder
from gateway.rules.conditions import WordIndex
from gateway.rules.config import Config
from gateway.rules.problems import ConfigError, Problem, has_errors
from gateway.rules.reader import Reader
from gateway.rules.schema.departments import (
    DEFAULT_ANSWER_WITHIN,
    DEFAULT_FIRST_RESPONSE_WITHIN,
    DEPARTMENT_KEYS,
    DEPARTMENTS_KEYS,
    load_departments,
)
from gateway.rules.schema.examples import EXAMPLE_DEFAULT_AT, EXAMPLE_KEYS
from gateway.rules.schema.rules import RULE_KEYS, RULES_KEYS, load_rules
from gateway.rules.yamlload import load_yaml

__all__ = [
    "DEFAULT_ANSWER_WITHIN",
    "DEFAULT_FIRST_RESPONSE_WITHIN",
    "DEPARTMENTS_KEYS",
    "DEPARTMENT_KEYS",
    "EXAMPLE_DEFAULT_AT",
    "EXAMPLE_KEYS",
    "RULES_KEYS",
    "RULE_KEYS",
    "load_config",
    "load_with_problems",
]


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
    base = load_departments(dept_reader, load_yaml(departments, problems))
    rules_reader = Reader(str(rules), problems)
    addresses = None if base is None else frozenset(base["addresses"])
    builder = ConditionBuilder(rules_reader, area_map, addresses, areas_failed)
    known = None if base is None else base["names"]
    tz = ZoneInfo("UTC") if base is None else base["timezone"]
    address_list = [] if base is None else list(base["addresses"])
    rules_data = load_yaml(rules, problems)
    loaded = load_rules(rules_reader, rules_data, builder, known, tz, address_list)
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
        categories=MappingProxyType(base["categories"]),
    )
    return config, problems
