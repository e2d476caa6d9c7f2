"""Decisions per second: the shipped rules, and 1,000 generated rules with words, regexes and 50 areas.

Run: .venv/bin/python bench/bench_rules.py [--seconds N]
Targets (issue): under 100 µs per decision for the shipped rules, under 1 ms for the generated set.
Each decision includes the duty roster and both due times, as the daemon would compute them.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.rules import CaseFields, Config, load_config, route

ROOT = Path(__file__).resolve().parents[1]
SYLLABLES = [
    "ka",
    "ta",
    "la",
    "ma",
    "pa",
    "sa",
    "va",
    "ri",
    "ki",
    "ti",
    "lu",
    "mu",
    "su",
    "to",
    "ko",
    "po",
    "no",
    "ju",
    "hä",
    "jä",
    "pö",
    "sö",
]

SHIPPED_CASES = [
    CaseFields(text="Kadulla on puoli metriä lunta eikä sitä ole aurattu.", location=(60.1618, 24.9392)),
    CaseFields(text="Hämeentiellä on syvä kuoppa keskellä pyörätietä."),
    CaseFields(subject="Palaute", text="Kiitos hyvästä palvelusta! " * 20),  # falls through: default
    CaseFields(text="The metro escalator at Kamppi has been broken for weeks."),
    CaseFields(text="Det luktar avlopp vid stranden i Hertonäs.", language="sv"),
    CaseFields(text="Jag har väntat i tre veckor på en tid till tandvården.", language="sv"),
]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def generated(directory: Path, rng: random.Random, n_rules: int = 1000, n_areas: int = 50) -> Config:
    """Write and load a config of *n_rules* rules (words, prefixes, regexes, areas)."""
    features = []
    for i in range(n_areas):  # a 10 x 5 grid over Helsinki
        lon, lat = 24.80 + (i % 10) * 0.04, 60.15 + (i // 10) * 0.03
        ring = [[lon, lat], [lon + 0.04, lat], [lon + 0.04, lat + 0.03], [lon, lat + 0.03], [lon, lat]]
        features.append(
            {
                "type": "Feature",
                "properties": {"name": f"area-{i}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    areas = directory / "areas.geojson"
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    departments = ["version: 1", "timezone: Europe/Helsinki", "holidays: FI",
                   "addresses: [palaute@hel.example]", "departments:"]  # fmt: skip
    for i in range(20):
        departments += [f"  d{i}:", f"    name: {{fi: Osasto {i}}}", f"    email: d{i}@hel.example"]
    (directory / "departments.yaml").write_text("\n".join(departments) + "\n")
    rules = ["version: 1", "default: d0", "rules:"]
    for i in range(n_rules):
        words = [word(rng) + ("*" if rng.random() < 0.4 else "") for _ in range(rng.randint(3, 10))]
        rules += [f"  - name: rule-{i}", f"    department: d{i % 20}", "    when:", "      all:"]
        rules.append(f"        - words: [{', '.join(words)}]")
        if i % 3 == 0:
            rules.append(f"        - matches: '{word(rng)}\\s+\\d+'")
        if i % 2 == 0:
            rules.append(f"        - area: area-{rng.randrange(n_areas)}")
    (directory / "rules.yaml").write_text("\n".join(rules) + "\n")
    return load_config(directory / "departments.yaml", directory / "rules.yaml", areas)


def generated_cases(rng: random.Random) -> list[CaseFields]:
    cases = []
    for _ in range(50):
        text = " ".join(word(rng) for _ in range(rng.randint(20, 120)))
        loc = (rng.uniform(60.15, 60.30), rng.uniform(24.80, 25.20))
        cases.append(CaseFields(text=text, subject=word(rng), location=loc))
    return cases


def measure(config: Config, cases: list[CaseFields], seconds: float) -> tuple[float, float]:
    """(decisions per second, mean µs per decision) over a varying clock."""
    start = datetime(2025, 1, 13, 6, tzinfo=UTC)
    n = 0
    began = time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline:
        for i, case in enumerate(cases):
            route(config, case, start + timedelta(minutes=37 * (n + i)))
        n += len(cases)
    elapsed = time.perf_counter() - began
    return n / elapsed, elapsed / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    shipped = load_config(ROOT / "departments.yaml", ROOT / "rules.yaml", ROOT / "areas.geojson")
    rate, mean = measure(shipped, SHIPPED_CASES, args.seconds)
    print(f"shipped rules ({len(shipped.rules)} rules): {rate:,.0f} decisions/s, {mean:.1f} µs each")
    rng = random.Random(20250115)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        big = generated(Path(tmp), rng)
        load_ms = (time.perf_counter() - began) * 1e3
    rate, mean = measure(big, generated_cases(rng), args.seconds)
    print(
        f"generated ({len(big.rules)} rules, {len(big.areas)} areas, loaded in {load_ms:.0f} ms): "
        f"{rate:,.0f} decisions/s, {mean:.1f} µs each"
    )


if __name__ == "__main__":
    main()
