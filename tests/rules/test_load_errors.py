"""Every kind of configuration mistake is reported as file:line: message, all of them at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.rules import CaseFields, ConfigError, Problem, check_config, load_config, route

from .conftest import AREAS, DEPARTMENTS, Write

GOOD_RULE = "version: 1\ndefault: kirjaamo\nrules:\n  - name: r\n    department: puistot\n"


def problems_of(paths: tuple[Path, Path, Path], with_areas: bool = True) -> list[Problem]:
    d, r, a = paths
    with pytest.raises(ConfigError) as info:
        load_config(d, r, a if with_areas else None)
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return list(info.value.problems)


RULES_CASES = [
    # (id, rules.yaml, line, message)
    (
        "unknown condition",
        GOOD_RULE + "    when:\n      subjet: lunta\n",
        7,
        "rules[0].when: unknown condition 'subjet'",
    ),
    (
        "unknown condition nested",
        GOOD_RULE + "    when:\n      any:\n        - wrds: [a]\n",
        8,
        "rules[0].when.any[0]: unknown condition 'wrds' (did you mean 'words'?)",
    ),
    (
        "unknown rule key",
        GOOD_RULE + "    priorty: high\n",
        6,
        "rules[0]: unknown key 'priorty' (did you mean 'priority'?)",
    ),
    ("unknown top key", GOOD_RULE + "defualt: x\n", 6, "rules.yaml: unknown key 'defualt'"),
    (
        "unknown department",
        "version: 1\ndefault: kirjaamo\nrules:\n  - name: r\n    department: talvii\n",
        5,
        "rules[0].department: unknown department 'talvii' (did you mean 'talvi'?)",
    ),
    (
        "unknown default",
        "version: 1\ndefault: kirjamo\nrules: []\n",
        2,
        "default: unknown department 'kirjamo' (did you mean 'kirjaamo'?)",
    ),
    ("missing default", "version: 1\nrules: []\n", 1, "rules.yaml: missing required key 'default'"),
    ("missing version", "default: kirjaamo\nrules: []\n", 1, "missing required key 'version'"),
    ("bad version", "version: 2\ndefault: kirjaamo\nrules: []\n", 1, "unsupported version 2"),
    (
        "bad regex",
        GOOD_RULE + "    when:\n      matches: ['kuoppa(']\n",
        7,
        "rules[0].when.matches: bad regular expression 'kuoppa('",
    ),
    (
        "unknown area",
        GOOD_RULE + "    when: {area: etel}\n",
        6,
        "rules[0].when.area: unknown area 'etel' (did you mean 'etela'?)",
    ),
    (
        "bad time window",
        GOOD_RULE + "    when:\n      time: 'mon-fry 07:00-15:30'\n",
        7,
        "rules[0].when.time: cannot read days 'mon-fry'",
    ),
    ("bad hours", GOOD_RULE + "    when:\n      time: 'mon-fri 07:00-25:00'\n", 7, "no such time of day"),
    ("empty window", GOOD_RULE + "    when: {time: '10:00-10:00'}\n", 6, "empty time window"),
    (
        "bad duration",
        GOOD_RULE + "    answer_within: 2 workdays maybe\n",
        6,
        "rules[0].answer_within: cannot read duration '2 workdays maybe'",
    ),
    (
        "missing name",
        "version: 1\ndefault: kirjaamo\nrules:\n  - department: puistot\n",
        4,
        "rules[0]: missing required key 'name'",
    ),
    (
        "duplicate name",
        GOOD_RULE + "    when: always\n  - name: r\n    department: talvi\n    when: always\n",
        7,
        "rules[1]: duplicate rule name 'r' (first on line 4)",
    ),
    ("bad priority", GOOD_RULE + "    priority: asap\n", 6, "rules[0].priority: 'asap' is not one of"),
    ("bad channel", GOOD_RULE + "    when: {channel: fax}\n", 6, "unknown channel 'fax'"),
    (
        "phrase in words",
        GOOD_RULE + "    when: {words: ['puoli metriä']}\n",
        6,
        "'puoli metriä' is not one word",
    ),
    (
        "star inside word",
        GOOD_RULE + "    when:\n      words:\n        - lunta\n        - 'l*mi'\n",
        9,
        "rules[0].when.words: 'l*mi' is not one word",
    ),
    (
        "recipient not ours",
        GOOD_RULE + "    when: {recipient: info@muu.example}\n",
        6,
        "'info@muu.example' is not one of the addresses",
    ),
    (
        "missing when",
        GOOD_RULE + "    priority: high\n",
        4,
        "rules[0]: missing 'when': a rule without conditions takes every case",
    ),
    (
        "missing when in the second rule",
        GOOD_RULE + "    when: always\n  - name: s\n    department: talvi\n    examples: [{text: x}]\n",
        7,
        "rules[1]: missing 'when'",
    ),
    ("when null", GOOD_RULE + "    when:\n", 6, "rules[0].when: expected a condition"),
    ("when misspelt always", GOOD_RULE + "    when: allways\n", 6, "rules[0].when: expected a condition"),
    (
        "words language not a code",
        GOOD_RULE + "    when: {words: {swedish: [is]}}\n",
        6,
        "rules[0].when.words: 'swedish' is not a language code such as fi, sv or en",
    ),
    (
        "words empty language map",
        GOOD_RULE + "    when: {words: {}}\n",
        6,
        "rules[0].when.words: expected language",
    ),
    (
        "words language entry not a word",
        GOOD_RULE + "    when:\n      words:\n        sv: [is, 'is på']\n",
        8,
        "rules[0].when.words.sv: 'is på' is not one word",
    ),
    (
        "words language empty list",
        GOOD_RULE + "    when: {words: {sv: []}}\n",
        6,
        "rules[0].when.words.sv: empty list",
    ),
    ("empty any", GOOD_RULE + "    when: {any: []}\n", 6, "rules[0].when.any: expected a non-empty list"),
    ("yaml syntax", "version: 1\ndefault: kirjaamo\nrules:\n  - name: [r\n", 5, "YAML syntax error"),
    ("duplicate yaml key", GOOD_RULE + "    department: talvi\n", 6, "duplicate key 'department'"),
    (
        "example bad location",
        GOOD_RULE + "    examples:\n      - text: x\n        location: [24.9]\n",
        8,
        "rules[0].examples[0].location: expected [lat, lon]",
    ),
    (
        "example unknown key",
        GOOD_RULE + "    examples:\n      - txt: x\n",
        7,
        "rules[0].examples[0]: unknown key 'txt' (did you mean 'text'?)",
    ),
    (
        "example bad at",
        GOOD_RULE + "    examples:\n      - {text: x, at: 'tomorrow'}\n",
        7,
        "rules[0].examples[0].at: cannot read time 'tomorrow'",
    ),
]


@pytest.mark.parametrize(
    ("rules", "line", "message"), [c[1:] for c in RULES_CASES], ids=[c[0] for c in RULES_CASES]
)
def test_rules_problem(write: Write, rules: str, line: int, message: str) -> None:
    paths = write(rules)
    found = [str(p) for p in problems_of(paths)]
    prefix = f"{paths[1]}:{line}: "
    assert any(s.startswith(prefix) and message in s for s in found), found


def dept(replace: str, by: str) -> str:
    assert replace in DEPARTMENTS
    return DEPARTMENTS.replace(replace, by)


DEPT_CASES = [
    (
        "bad timezone",
        dept("Europe/Helsinki", "Europe/Helsingfors"),
        2,
        "timezone: unknown time zone 'Europe/Helsingfors'",
    ),
    ("bad holidays", dept("holidays: FI", "holidays: XX"), 3, "holidays: unknown country"),
    (
        "bad address",
        dept("feedback@hel.example]", "feedback]"),
        4,
        "addresses[1]: 'feedback' is not an email address",
    ),
    (
        "unknown dept key",
        dept("    email: kirjaamo@", "    mail: x@y.example\n    email: kirjaamo@"),
        8,
        "departments.kirjaamo: unknown key 'mail' (did you mean 'email'?)",
    ),
    (
        "missing email",
        dept("    email: kirjaamo@hel.example\n", ""),
        7,
        "departments.kirjaamo: missing required key 'email'",
    ),
    ("bad kind", dept("kind: contractor", "kind: urakoitsija"), 11, "'urakoitsija' is not one of"),
    ("bad webhook", dept('url: "https://tyojono', 'url: "ftp://tyojono'), 13, "is not an http(s) URL"),
    (
        "bad dept duration",
        dept("answer_within: 2 working days", "answer_within: 2 fortnights"),
        14,
        "departments.talvi.answer_within: cannot read duration '2 fortnights'",
    ),
    (
        "bad duty window",
        dept('"sat-sun 09:00-17:00"', '"weekend"'),
        19,
        "departments.talvi.on_duty[1].when: cannot read days 'weekend'",
    ),
    (
        "otherwise not last",
        dept("      - otherwise: paivystys@urakoitsija.example\n", "").replace(
            '      - when: "mon-fri', '      - otherwise: x@y.example\n      - when: "mon-fri'
        ),
        17,
        "'otherwise' stands alone, as the last entry",
    ),
    (
        "duty entry without email",
        dept("        email: viikonloppu@urakoitsija.example\n", ""),
        19,
        "on_duty[1]: needs 'when' and 'email'",
    ),
    (
        "bad office hours",
        dept(
            "    email: puistot@hel.example",
            "    email: puistot@hel.example\n    office_hours: 'mon-fri 8-16'",
        ),
        25,
        "departments.puistot.office_hours: cannot read hours '8-16'",
    ),
]


@pytest.mark.parametrize(
    ("departments", "line", "message"), [c[1:] for c in DEPT_CASES], ids=[c[0] for c in DEPT_CASES]
)
def test_departments_problem(write: Write, departments: str, line: int, message: str) -> None:
    paths = write(GOOD_RULE, departments=departments)
    found = [str(p) for p in problems_of(paths)]
    prefix = f"{paths[0]}:{line}: "
    assert any(s.startswith(prefix) and message in s for s in found), found


BAD_POLYGON = '{"type": "Feature", "properties": {"name": "bowtie"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}'  # noqa: E501
AREA_CASES = [
    ("json syntax", AREAS.replace('"etela"}', '"etela"'), 4, "JSON syntax error"),
    ("not a collection", '{"type": "Feature"}', 1, "expected a GeoJSON FeatureCollection"),
    (
        "self-intersecting",
        AREAS.replace("\n]}", ",\n  " + BAD_POLYGON + "\n]}"),
        6,
        "features[2] 'bowtie': invalid polygon",
    ),
    ("no name", AREAS.replace('{"name": "etela"}', "{}"), 2, "features[0]: properties.name is required"),
    ("duplicate name", AREAS.replace('"pohjoinen"', '"etela"'), 4, "duplicate area name 'etela'"),
    (
        "point",
        AREAS.replace(
            '"type": "Polygon", "coordinates": [[[24.93', '"type": "Point", "coordinates": [[[24.93'
        ),
        4,
        "geometry must be a Polygon or MultiPolygon",
    ),
    (
        "lat lon swapped beyond range",
        AREAS.replace("[24.86, 60.13]", "[24.86, 99.13]"),
        2,
        "coordinates out of range",
    ),
]


@pytest.mark.parametrize(
    ("areas", "line", "message"), [c[1:] for c in AREA_CASES], ids=[c[0] for c in AREA_CASES]
)
def test_areas_problem(write: Write, areas: str, line: int, message: str) -> None:
    paths = write(GOOD_RULE, areas=areas)
    found = [str(p) for p in problems_of(paths)]
    prefix = f"{paths[2]}:{line}: "
    assert any(s.startswith(prefix) and message in s for s in found), found


def test_every_problem_is_reported_at_once(write: Write) -> None:
    rules = GOOD_RULE + (
        "    when: {subjet: x}\n"
        "  - name: s\n    department: nowhere\n    when: {matches: '('}\n"
        "  - name: t\n    department: puistot\n    when: {area: atlantis}\n"
    )
    departments = dept("Europe/Helsinki", "Mars/Olympus")
    found = problems_of(write(rules, departments=departments))
    messages = " | ".join(p.message for p in found)
    for expected in (
        "unknown condition 'subjet'",
        "unknown department 'nowhere'",
        "bad regular expression",
        "unknown area 'atlantis'",
        "unknown time zone",
    ):
        assert expected in messages
    assert all(p.severity == "error" for p in found)


def test_area_condition_without_areas_file(write: Write) -> None:
    found = problems_of(write(GOOD_RULE + "    when: {area: etela}\n"), with_areas=False)
    assert [p.message for p in found] == ["rules[0].when.area: area conditions need an areas file"]


def test_bad_areas_file_does_not_pile_unknown_area_errors(write: Write) -> None:
    found = problems_of(write(GOOD_RULE + "    when: {area: etela}\n", areas="{"))
    assert len(found) == 1 and found[0].message.startswith("JSON syntax error")


def test_unreadable_file(tmp_path: Path, write: Write) -> None:
    d, _, a = write(GOOD_RULE)
    found = problems_of((d, tmp_path / "missing.yaml", a))
    assert found[0].file.endswith("missing.yaml") and "cannot read file" in found[0].message


def test_problem_str() -> None:
    assert str(Problem("rules.yaml", 42, "rules[3].when: unknown condition 'subjet'")) == (
        "rules.yaml:42: rules[3].when: unknown condition 'subjet'"
    )
    assert str(Problem("rules.yaml", 7, "x", "warning")) == "rules.yaml:7: warning: x"


def test_when_always_is_a_catch_all_and_later_rules_are_warned(write: Write) -> None:
    rules = GOOD_RULE + "    when: always\n  - name: s\n    department: talvi\n    when: {words: [lunta]}\n"
    paths = write(rules)
    config = load_config(*paths)
    decision = route(config, CaseFields(text="lunta"), datetime(2025, 1, 15, 10, tzinfo=UTC))
    assert (decision.rule, decision.reasons) == ("r", ("always",))
    assert [p.message for p in check_config(*paths)] == [
        "rules[1] 's' can never match: rules[0] 'r' (line 4) matches everything it matches"
    ]
