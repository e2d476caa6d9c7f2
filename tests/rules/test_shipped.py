"""The shipped rules.yaml, departments.yaml and areas.geojson, loaded exactly as shipped."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.rules import CaseFields, Config, check_config, is_city_address, load_config, route

ROOT = Path(__file__).resolve().parents[2]
FILES = (ROOT / "departments.yaml", ROOT / "rules.yaml", ROOT / "areas.geojson")
HKI = ZoneInfo("Europe/Helsinki")
WED_10 = datetime(2025, 1, 15, 10, tzinfo=HKI)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(*FILES)


def test_shipped_config_checks_clean() -> None:
    assert [str(p) for p in check_config(*FILES)] == []


def test_every_rule_has_examples(config: Config) -> None:
    assert config.rules and all(rule.examples for rule in config.rules)


def test_shipped_basics(config: Config) -> None:
    assert config.default == "kirjaamo"
    assert config.timezone == HKI
    for address in ("palaute@hel.example", "feedback@hel.example", "respons@hel.example"):
        assert is_city_address(config, address)
    kinds = {d.kind for d in config.departments.values()}
    assert kinds == {"city", "contractor", "agency"}
    assert set(config.areas) == {
        "etelainen-suurpiiri", "lantinen-suurpiiri", "pohjoinen-suurpiiri", "itainen-suurpiiri"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("location", "department"),
    [
        ((60.1618, 24.9392), "talvikunnossapito-etela"),  # Keskusta
        ((60.2078, 25.1440), "talvikunnossapito-ita"),  # Vuosaari
        ((60.2200, 24.8950), "talvikunnossapito-lansi"),  # Haaga
        ((60.2510, 25.0110), "tyoyksikko"),  # Malmi
        ((60.1760, 24.8050), "kaupunkiympariston-asiakaspalvelu"),  # Tapiola, Espoo
        (None, "kaupunkiympariston-asiakaspalvelu"),
    ],
)
def test_winter_maintenance_by_area(
    config: Config, location: tuple[float, float] | None, department: str
) -> None:
    case = CaseFields(text="Katua ei ole aurattu, lunta on polviin asti.", location=location)
    assert route(config, case, WED_10).department == department


def test_shipped_reasons_and_contact(config: Config) -> None:
    case = CaseFields(text="Kadulla on puoli metriä lunta.", location=(60.1618, 24.9392))
    night = datetime(2025, 1, 15, 23, tzinfo=HKI)
    decision = route(config, case, night)
    assert decision.rule == "snow-and-ice-south" and decision.priority == "high"
    assert decision.reasons == (
        "words: 'lunta' matched lunta",
        "area: etelainen-suurpiiri contains (60.1618, 24.9392)",
    )
    assert decision.contact == "paivystys@urakoitsija.example"
    assert decision.webhook == "https://tyojono.example/api/cases"


@pytest.mark.parametrize(
    "case",
    [CaseFields(), CaseFields(text="Kiitos!", category="unknown-code", location=(59.43, 24.75))],
)
def test_shipped_unknowns_go_to_the_registry(config: Config, case: CaseFields) -> None:
    decision = route(config, case, WED_10)
    assert (decision.department, decision.rule) == ("kirjaamo", "default")
