"""The decision: contact after the duty roster, webhook, priority, due times, manual routing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.model import Address, Decision, InboundMessage
from gateway.rules import CaseFields, Config, is_city_address, route, route_to

HKI = ZoneInfo("Europe/Helsinki")
RULES = """\
version: 1
default: kirjaamo
rules:
  - name: snow
    department: talvi
    priority: high
    when: {words: ['lum*']}
  - name: tree
    department: puistot
    priority: urgent
    answer_within: 4 hours
    first_response_within: 30 minutes
    when: {words: [puu]}
"""


@pytest.fixture
def config(config_of: Callable[[str], Config]) -> Config:
    return config_of(RULES)


def test_decision_for_a_rule(config: Config) -> None:
    now = datetime(2025, 1, 17, 13, tzinfo=HKI)  # Friday 15:00 Helsinki
    assert route(config, CaseFields(text="Lumi!"), now) == Decision(
        department="talvi",
        rule="snow",
        priority="high",
        reasons=("words: 'lum*' matched lumi",),
        contact="talvi@urakoitsija.example",
        webhook="https://tyojono.example/api/cases",
        due=datetime(2025, 1, 21, 13, tzinfo=HKI),  # 2 working days
        first_response_due=datetime(2025, 1, 20, 9, tzinfo=HKI),  # 4 working hours
    )


def test_rule_overrides_answer_times(config: Config) -> None:
    now = datetime(2025, 1, 17, 23, tzinfo=HKI)
    decision = route(config, CaseFields(text="puu"), now)
    assert decision.priority == "urgent"
    assert decision.due == datetime(2025, 1, 18, 3, tzinfo=HKI)
    assert decision.first_response_due == datetime(2025, 1, 17, 23, 30, tzinfo=HKI)
    assert decision.due is not None and decision.due.tzinfo is UTC


@pytest.mark.parametrize(
    ("local", "contact"),
    [
        (datetime(2025, 1, 15, 7, 0), "talvi@urakoitsija.example"),
        (datetime(2025, 1, 15, 15, 29), "talvi@urakoitsija.example"),
        (datetime(2025, 1, 15, 15, 30), "paivystys@urakoitsija.example"),
        (datetime(2025, 1, 15, 6, 59), "paivystys@urakoitsija.example"),
        (datetime(2025, 1, 18, 12, 0), "viikonloppu@urakoitsija.example"),
        (datetime(2025, 1, 18, 20, 0), "paivystys@urakoitsija.example"),
    ],
)
def test_duty_roster(config: Config, local: datetime, contact: str) -> None:
    decision = route(config, CaseFields(text="lumi"), local.replace(tzinfo=HKI).astimezone(UTC))
    assert decision.contact == contact


@pytest.mark.parametrize(
    "case",
    [
        CaseFields(),
        CaseFields(text="", subject=""),
        CaseFields(text="???", category="no-such-category", channel="fax"),
        CaseFields(text="kuoppa", location=(0.0, 0.0)),
        CaseFields(text="x", location=(91.0, 500.0)),
        CaseFields(text="x", sender="not an address", recipients=("",)),
    ],
)
def test_bad_input_falls_through_to_default(config: Config, case: CaseFields) -> None:
    decision = route(config, case, datetime(2025, 1, 15, 10, tzinfo=HKI))
    assert (decision.department, decision.rule, decision.priority) == ("kirjaamo", "default", "normal")
    assert decision.contact == "kirjaamo@hel.example" and decision.webhook is None
    assert decision.due == datetime(2025, 1, 22, 10, tzinfo=HKI)  # default 5 working days


def test_route_to(config: Config) -> None:
    decision = route_to(config, "talvi", datetime(2025, 1, 18, 12, tzinfo=HKI))
    assert (decision.department, decision.rule) == ("talvi", "manual")
    assert decision.reasons == ("routed manually to talvi",)
    assert decision.contact == "viikonloppu@urakoitsija.example"
    with pytest.raises(KeyError, match="unknown department 'talvii'"):
        route_to(config, "talvii", datetime(2025, 1, 18, 12, tzinfo=HKI))


def test_department_lookup(config: Config) -> None:
    assert config.department("talvi").kind == "contractor"
    assert config.department("talvi").webhook is not None
    with pytest.raises(KeyError, match=r"unknown department 'x' \(known: kirjaamo, puistot, talvi\)"):
        config.department("x")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("palaute@hel.example", True),
        ("PALAUTE@Hel.Example", True),
        ("palaute+talvi@hel.example", True),
        ("feedback+x+y@hel.example", True),
        ("respons@hel.example", False),
        ("palaute@hel.example.evil", False),
        ("kirjaamo@hel.example", False),
        ("", False),
    ],
)
def test_is_city_address(config: Config, address: str, expected: bool) -> None:
    assert is_city_address(config, address) is expected


def test_case_fields_from_message() -> None:
    msg = InboundMessage(
        message_id="x@y",
        sender=Address("Matti@Example.org", "Matti"),
        to=("palaute@hel.example",),
        cc=("feedback@hel.example",),
        subject="Lunta",
        text="Tiellä on lunta.",
        reply_text="Tiellä on lunta.",
        language="fi",
    )
    fields = CaseFields.from_message(msg)
    assert fields == CaseFields(
        text="Tiellä on lunta.",
        subject="Lunta",
        sender="matti@example.org",
        recipients=("palaute@hel.example", "feedback@hel.example"),
        channel="smtp",
        language="fi",
    )
    envelope = CaseFields.from_message(msg, channel="imap", recipients=["Palaute+X@hel.example"])
    assert envelope.recipients == ("palaute+x@hel.example",) and envelope.channel == "imap"


@pytest.mark.parametrize(
    ("text", "rule", "misses"),
    [
        ("Lumi!", "snow", ()),
        ("Kaatunut puu", "tree", (("snow", "no match for words lum*"),)),
        ("Roska-astia", "default", (("snow", "no match for words lum*"), ("tree", "no match for words puu"))),
    ],
    ids=["first-rule", "second-rule", "no-rule"],
)
def test_a_decision_says_which_rules_were_tried_before_and_why_they_missed(
    config: Config, text: str, rule: str, misses: tuple[tuple[str, str], ...]
) -> None:
    """Issue 16: `gateway route` and the console can say why a rule did not match (Mailman's
    `rule_misses`): every rule before the one taken, with the condition that did not hold."""
    decision = route(config, CaseFields(text=text), datetime(2025, 1, 17, 13, tzinfo=HKI))
    assert decision.rule == rule
    assert tuple((m.rule, m.why) for m in decision.misses) == misses
