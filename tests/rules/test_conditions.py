"""Every condition type and combinator, table-driven: does the rule match, and what reason is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.rules import CaseFields, Config, route

HKI = ZoneInfo("Europe/Helsinki")
WED_10 = datetime(2025, 1, 15, 10, 0, tzinfo=HKI)
CENTRE = (60.1618, 24.9392)
MALMI = (60.2510, 25.0110)


def rules_with(when: str) -> str:
    return f"version: 1\ndefault: kirjaamo\nrules:\n  - name: r\n    department: puistot\n    when: {when}\n"


CASES: list[tuple[str, str, dict[str, Any], datetime, str | None]] = [
    # (id, when, case fields, now, expected reason or None for no match)
    (
        "words exact",
        "{words: [lunta]}",
        {"text": "Kadulla on lunta."},
        WED_10,
        "words: 'lunta' matched lunta",
    ),
    ("words case", "{words: [lunta]}", {"text": "LUNTA!"}, WED_10, "words: 'lunta' matched lunta"),
    ("words whole word only", "{words: [lunta]}", {"text": "lumentulo"}, WED_10, None),
    ("words prefix lumi", "{words: ['lum*']}", {"text": "Lumi on likaista"}, WED_10, "'lum*' matched lumi"),
    ("words prefix lumesta", "{words: ['lum*']}", {"text": "ei lumesta"}, WED_10, "matched lumesta"),
    ("words prefix lumen", "{words: ['lum*']}", {"text": "lumen alla"}, WED_10, "matched lumen"),
    ("words prefix not inside", "{words: ['lum*']}", {"text": "pulumies"}, WED_10, None),
    ("words ä not a break", "{words: [jää]}", {"text": "jäätä tiellä"}, WED_10, None),
    ("words ä prefix", "{words: ['jää*']}", {"text": "Jäätä tiellä"}, WED_10, "'jää*' matched jäätä"),
    # issue 15: a words list limited to a language matches feedback in that language only
    (
        "words sv in sv",
        "{words: {sv: [is]}}",
        {"text": "Det är is här", "language": "sv"},
        WED_10,
        "'is' matched is (sv)",
    ),
    ("words sv in en", "{words: {sv: [is]}}", {"text": "It is here", "language": "en"}, WED_10, None),
    ("words sv, language unknown", "{words: {sv: [is]}}", {"text": "is"}, WED_10, None),
    ("words sv, code in capitals", "{words: {SV: [is]}}", {"text": "is", "language": "SV"}, WED_10, "(sv)"),
    (
        "words two languages",
        "{words: {sv: [is], en: [ice]}}",
        {"text": "ice", "language": "en"},
        WED_10,
        "'ice' matched ice (en)",
    ),
    (
        "words two languages, other's word",
        "{words: {sv: [is], en: [ice]}}",
        {"text": "is", "language": "en"},
        WED_10,
        None,
    ),
    (
        "words sv prefix",
        "{words: {sv: ['snö*']}}",
        {"text": "snön", "language": "sv"},
        WED_10,
        "'snö*' matched snön (sv)",
    ),
    (
        "words unlimited and limited",
        "{any: [{words: [lunta]}, {words: {sv: [is]}}]}",
        {"text": "lunta", "language": "fi"},
        WED_10,
        "'lunta' matched lunta",
    ),
    ("words ö inside", "{words: ['snö*']}", {"text": "Snöhögen"}, WED_10, "matched snöhögen"),
    ("words å inside", "{words: [gång]}", {"text": "gångbanan"}, WED_10, None),
    ("words å whole", "{words: [gång]}", {"text": "en gång till"}, WED_10, "matched gång"),
    ("words in subject", "{words: [aurattu]}", {"subject": "Ei aurattu"}, WED_10, "matched aurattu"),
    (
        "matches",
        "{matches: 'social (services?|workers?)'}",
        {"text": "A Social Worker"},
        WED_10,
        "matches: 'social (services?|workers?)' matched 'Social Worker'",
    ),
    (
        "matches second of list",
        "{matches: ['kuoppa\\d', 'lumi+']}",
        {"text": "LUMIII"},
        WED_10,
        "matches: 'lumi+' matched 'LUMIII'",
    ),
    ("matches backreference", "{matches: ['x', '(\\w)\\1{3}']}", {"text": "aaaa"}, WED_10, "matched 'aaaa'"),
    ("matches miss", "{matches: 'kuoppa\\d'}", {"text": "kuoppa"}, WED_10, None),
    (
        "sender",
        "{sender: Matti@Example.org}",
        {"sender": "matti@example.org"},
        WED_10,
        "sender: matti@example.org",
    ),
    ("sender miss", "{sender: matti@example.org}", {"sender": "maija@example.org"}, WED_10, None),
    (
        "sender_domain",
        "{sender_domain: edu.hel.example}",
        {"sender": "a@edu.hel.example"},
        WED_10,
        "sender_domain: edu.hel.example",
    ),
    (
        "sender_domain subdomain",
        "{sender_domain: hel.example}",
        {"sender": "a@edu.hel.example"},
        WED_10,
        "sender_domain: hel.example",
    ),
    ("sender_domain not suffix", "{sender_domain: hel.example}", {"sender": "a@xhel.example"}, WED_10, None),
    (
        "recipient",
        "{recipient: feedback@hel.example}",
        {"recipients": ("feedback@hel.example",)},
        WED_10,
        "recipient: feedback@hel.example",
    ),
    (
        "recipient plus",
        "{recipient: feedback@hel.example}",
        {"recipients": ("feedback+talvi@hel.example",)},
        WED_10,
        "recipient: feedback@hel.example matched feedback+talvi@hel.example",
    ),
    (
        "recipient exact plus",
        "{recipient: palaute+talvi@hel.example}",
        {"recipients": ("palaute@hel.example",)},
        WED_10,
        None,
    ),
    (
        "recipient exact plus hit",
        "{recipient: palaute+talvi@hel.example}",
        {"recipients": ("Palaute+Talvi@hel.example",)},
        WED_10,
        "recipient: palaute+talvi@hel.example",
    ),
    ("channel", "{channel: [web, open311]}", {"channel": "open311"}, WED_10, "channel: open311"),
    ("channel miss", "{channel: web}", {"channel": "smtp"}, WED_10, None),
    (
        "category",
        "{category: winter-maintenance}",
        {"category": "Winter-Maintenance"},
        WED_10,
        "category: Winter-Maintenance",
    ),
    ("category none", "{category: winter-maintenance}", {}, WED_10, None),
    ("language", "{language: sv}", {"language": "sv"}, WED_10, "language: sv"),
    ("language none", "{language: sv}", {"language": None}, WED_10, None),
    ("area", "{area: etela}", {"location": CENTRE}, WED_10, "area: etela contains (60.1618, 24.9392)"),
    ("area list", "{area: [etela, pohjoinen]}", {"location": MALMI}, WED_10, "area: pohjoinen"),
    ("area other", "{area: etela}", {"location": MALMI}, WED_10, None),
    ("area outside all", "{area: etela}", {"location": (59.43, 24.75)}, WED_10, None),
    ("area no location", "{area: etela}", {}, WED_10, None),
    (
        "time in",
        "{time: 'mon-fri 07:00-15:30'}",
        {},
        WED_10,
        "time: mon-fri 07:00-15:30 contains Wed 10:00 Europe/Helsinki",
    ),
    (
        "time end exclusive",
        "{time: 'mon-fri 07:00-15:30'}",
        {},
        datetime(2025, 1, 15, 15, 30, tzinfo=HKI),
        None,
    ),
    ("time weekend", "{time: sat-sun}", {}, datetime(2025, 1, 18, 12, tzinfo=HKI), "time: sat-sun"),
    ("time weekend miss", "{time: sat-sun}", {}, WED_10, None),
    (
        "time midnight late",
        "{time: '22:00-06:00'}",
        {},
        datetime(2025, 1, 15, 23, 59, tzinfo=HKI),
        "time: 22:00-06:00",
    ),
    (
        "time midnight early",
        "{time: '22:00-06:00'}",
        {},
        datetime(2025, 1, 16, 5, 59, tzinfo=HKI),
        "time: 22:00-06:00",
    ),
    ("time midnight miss", "{time: '22:00-06:00'}", {}, datetime(2025, 1, 16, 6, 0, tzinfo=HKI), None),
    (
        "time fri night into sat",
        "{time: 'fri 22:00-06:00'}",
        {},
        datetime(2025, 1, 18, 2, tzinfo=HKI),
        "time: fri 22:00-06:00",
    ),
    ("time thu night not fri", "{time: 'fri 22:00-06:00'}", {}, datetime(2025, 1, 17, 2, tzinfo=HKI), None),
    (
        "time sun night into mon",
        "{time: 'sun 22:00-06:00'}",
        {},
        datetime(2025, 1, 20, 3, tzinfo=HKI),
        "time: sun 22:00-06:00",
    ),
    (
        "time utc input",
        "{time: 'mon-fri 07:00-15:30'}",
        {},
        datetime(2025, 1, 15, 5, 30, tzinfo=ZoneInfo("UTC")),
        "contains Wed 07:30",
    ),
    (
        "all",
        "{all: [{words: [lunta]}, {area: etela}]}",
        {"text": "lunta", "location": CENTRE},
        WED_10,
        "words: 'lunta' matched lunta",
    ),
    ("all one fails", "{all: [{words: [lunta]}, {area: etela}]}", {"text": "lunta"}, WED_10, None),
    ("implicit all", "{words: [lunta], language: fi}", {"text": "lunta", "language": "sv"}, WED_10, None),
    (
        "any second",
        "{any: [{words: [lunta]}, {category: snow}]}",
        {"category": "snow"},
        WED_10,
        "category: snow",
    ),
    ("any none", "{any: [{words: [lunta]}, {category: snow}]}", {"text": "x"}, WED_10, None),
    ("not", "{not: {language: sv}}", {"language": "fi"}, WED_10, "not: language sv did not match"),
    ("not miss", "{not: {language: sv}}", {"language": "sv"}, WED_10, None),
    (
        "nested",
        "{all: [{any: [{words: ['lum*']}, {category: snow}]}, {not: {area: pohjoinen}}]}",
        {"text": "lumi", "location": CENTRE},
        WED_10,
        "not: area pohjoinen did not match",
    ),
]


@pytest.mark.parametrize(
    ("when", "fields", "now", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_condition(
    config_of: Callable[[str], Config],
    when: str,
    fields: dict[str, Any],
    now: datetime,
    reason: str | None,
) -> None:
    decision = route(config_of(rules_with(when)), CaseFields(**fields), now)
    if reason is None:
        assert (decision.department, decision.rule) == ("kirjaamo", "default")
        assert decision.reasons == ("no rule matched",)
    else:
        assert (decision.department, decision.rule) == ("puistot", "r")
        assert any(reason in r for r in decision.reasons), decision.reasons


def test_all_reports_reasons_in_written_order(config_of: Callable[[str], Config]) -> None:
    config = config_of(rules_with("{all: [{area: etela}, {words: [lunta]}, {language: fi}]}"))
    case = CaseFields(text="lunta", location=CENTRE, language="fi")
    reasons = route(config, case, WED_10).reasons
    assert [r.split(":")[0] for r in reasons] == ["area", "words", "language"]


def test_first_matching_rule_wins(config_of: Callable[[str], Config]) -> None:
    config = config_of(
        """\
        version: 1
        default: kirjaamo
        rules:
          - {name: a, department: talvi, when: {words: ['lum*']}}
          - {name: b, department: puistot, when: {words: [puisto]}}
        """
    )
    assert route(config, CaseFields(text="puisto lumi"), WED_10).rule == "a"
    assert route(config, CaseFields(text="puisto"), WED_10).rule == "b"
