"""Helpers for rules tests: write small configuration files and load them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.rules import Config, load_config

DEPARTMENTS = """\
version: 1
timezone: Europe/Helsinki
holidays: FI
addresses: [palaute@hel.example, feedback@hel.example]
departments:
  kirjaamo:
    name: {fi: Kirjaamo, en: Registry}
    email: kirjaamo@hel.example
  talvi:
    name: {fi: Talvikunnossapito}
    kind: contractor
    email: talvi@urakoitsija.example
    webhook: {url: "https://tyojono.example/api/cases", secret_env: TYOJONO_SECRET}
    answer_within: 2 working days
    first_response_within: 4 working hours
    on_duty:
      - when: "mon-fri 07:00-15:30"
        email: talvi@urakoitsija.example
      - when: "sat-sun 09:00-17:00"
        email: viikonloppu@urakoitsija.example
      - otherwise: paivystys@urakoitsija.example
  puistot:
    name: {fi: Puistot}
    email: puistot@hel.example
"""

AREAS = """\
{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"name": "etela"},
   "geometry": {"type": "Polygon", "coordinates": [[[24.86, 60.13], [25.02, 60.13], [25.02, 60.195], [24.86, 60.195], [24.86, 60.13]]]}},
  {"type": "Feature", "properties": {"name": "pohjoinen"},
   "geometry": {"type": "Polygon", "coordinates": [[[24.93, 60.22], [25.10, 60.22], [25.10, 60.30], [24.93, 60.30], [24.93, 60.22]]]}}
]}
"""  # noqa: E501

Write = Callable[..., tuple[Path, Path, Path]]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write rules (and optionally other files) to tmp_path; return the three paths."""

    def _write(rules: str, departments: str = DEPARTMENTS, areas: str = AREAS) -> tuple[Path, Path, Path]:
        d, r, a = tmp_path / "departments.yaml", tmp_path / "rules.yaml", tmp_path / "areas.geojson"
        d.write_text(textwrap.dedent(departments), encoding="utf-8")
        r.write_text(textwrap.dedent(rules), encoding="utf-8")
        a.write_text(areas, encoding="utf-8")
        return d, r, a

    return _write


@pytest.fixture
def config_of(write: Write) -> Callable[[str], Config]:
    """Load a config whose rules.yaml is *rules* (departments and areas from this module)."""

    def _load(rules: str) -> Config:
        return load_config(*write(rules))

    return _load
