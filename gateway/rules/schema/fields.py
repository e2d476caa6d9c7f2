"""Readers for the keys departments.yaml and rules.yaml share: `version` and the `*_within` durations."""

from __future__ import annotations

from gateway.deadlines.worktime import Duration, parse_duration
from gateway.rules.reader import Reader
from gateway.rules.yamlload import YMap


def check_version(r: Reader, data: YMap) -> None:
    if "version" not in data:
        r.error(data.line, "missing required key 'version' (use version: 1)")
    elif data["version"] != 1:
        r.error(data.line_of("version"), f"version: unsupported version {data['version']!r} (use 1)")


def read_duration(r: Reader, node: YMap, key: str, where: str, default: str | None) -> Duration | None:
    if key not in node:
        return None if default is None else parse_duration(default)
    try:
        return parse_duration(node[key])
    except ValueError as exc:
        r.error(node.line_of(key), f"{where}.{key}: {exc}")
        return None
