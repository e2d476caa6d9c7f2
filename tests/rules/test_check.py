"""check_config: examples are run like unit tests, and rules that can never match are warned about."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.rules import check_config, load_config

from .conftest import Write


def test_clean_config_has_no_problems(write: Write) -> None:
    rules = """\
    version: 1
    default: kirjaamo
    rules:
      - name: snow
        department: talvi
        when: {words: ['lum*']}
        examples:
          - text: "Lumi on aurattu huonosti."
          - {text: "Puistossa on roskia.", expect: kirjaamo}
    """
    assert check_config(*write(rules)) == []


def test_failing_example_is_an_error_with_its_line(write: Write) -> None:
    rules = """\
    version: 1
    default: kirjaamo
    rules:
      - name: snow
        department: talvi
        when: {words: ['lum*'], time: 'mon-fri 07:00-15:30'}
        examples:
          - text: "Lunta on paljon."
          - text: "Lumi on aurattu huonosti."
            at: "2025-01-18 10:00"
    """
    d, r, a = write(rules)
    found = check_config(d, r, a)
    assert [str(p) for p in found] == [
        f"{r}:8: rules[0].examples[0]: routed to 'kirjaamo' by the default, expected 'talvi'",
        f"{r}:9: rules[0].examples[1]: routed to 'kirjaamo' by the default, expected 'talvi'",
    ]
    assert all(p.severity == "error" for p in found)


def test_example_with_expect_elsewhere(write: Write) -> None:
    rules = """\
    version: 1
    default: kirjaamo
    rules:
      - name: snow
        department: talvi
        when: {words: ['lum*']}
        examples:
          - {text: "lumi", expect: puistot}
    """
    d, r, a = write(rules)
    assert [p.message for p in check_config(d, r, a)] == [
        "rules[0].examples[0]: routed to 'talvi' by rule 'snow', expected 'puistot'"
    ]


SHADOWING = [
    ("unconditional earlier", "{}", "{words: [lunta]}"),
    ("identical", "{words: [lunta, lumi]}", "{words: [lumi, lunta]}"),
    ("prefix covers word", "{words: ['lum*']}", "{words: [lumi, lumesta]}"),
    ("subset of words", "{words: [lunta, lumi, snow]}", "{words: [snow]}"),
    ("narrower all", "{words: [lunta]}", "{all: [{words: [lunta]}, {area: etela}]}"),
    ("any covers", "{any: [{words: [lunta]}, {category: snow}]}", "{category: snow}"),
    ("time inside", "{time: 'mon-fri 07:00-16:00'}", "{time: 'tue 08:00-12:00'}"),
    ("subdomain", "{sender_domain: hel.example}", "{sender_domain: edu.hel.example}"),
]
NOT_SHADOWING = [
    ("different words", "{words: [lunta]}", "{words: [lumi]}"),
    ("broader later", "{all: [{words: [lunta]}, {area: etela}]}", "{words: [lunta]}"),
    ("word does not cover prefix", "{words: [lumi]}", "{words: ['lum*']}"),
    ("different area", "{area: etela}", "{area: pohjoinen}"),
]


def _two_rules(first: str, second: str) -> str:
    when = "always" if first == "{}" else first
    return (
        "version: 1\ndefault: kirjaamo\nrules:\n"
        f"  - name: first\n    department: talvi\n    when: {when}\n"
        f"  - name: second\n    department: puistot\n    when: {second}\n"
    )


def test_shadowed_rules_are_warned(write: Write) -> None:
    for name, first, second in SHADOWING:
        d, r, a = write(_two_rules(first, second))
        found = check_config(d, r, a)
        line = 7
        expected = (
            f"{r}:{line}: warning: rules[1] 'second' can never match: "
            "rules[0] 'first' (line 4) matches everything it matches"
        )
        assert [str(p) for p in found] == [expected], name


def test_rules_that_can_match_are_not_warned(write: Write) -> None:
    for name, first, second in NOT_SHADOWING:
        assert check_config(*write(_two_rules(first, second))) == [], name


def test_example_taken_by_earlier_rule_of_same_department_warns(write: Write) -> None:
    rules = """\
    version: 1
    default: kirjaamo
    rules:
      - {name: a, department: talvi, when: {words: [lunta]}}
      - name: b
        department: talvi
        when: {words: [lumi]}
        examples:
          - text: "lumi ja lunta"
    """
    d, r, a = write(rules)
    found = check_config(d, r, a)
    assert [(p.line, p.severity, p.message) for p in found] == [
        (9, "warning", "rules[1].examples[0]: matched by rule 'a' before rule 'b'")
    ]


def test_load_errors_come_back_as_problems(write: Write) -> None:
    found = check_config(*write("version: 1\ndefault: nobody\nrules: []\n"))
    assert [p.message for p in found] == ["default: unknown department 'nobody'"]


# Issue 15: a word that is a common word of fi, sv or en matches feedback about something else.
COMMON_WORDS = [
    # (id, words, message or None)
    ("English is", "[lunta, is]", "'is' is a common English word; limit it to the language it is meant in"),
    ("Finnish jää", "['jää*']", "'jää*' matches 'jää', a common Finnish word"),
    ("Finnish tie", "['tie*']", "'tie*' matches 'tiedä', 'tietoa', 'tietää', common Finnish words"),
    (
        "Swedish istället",
        "['is*']",
        "'is*' matches 'is', a common English word; 'iso', a common Finnish word; 'istället'",
    ),
    ("English business", "['bus*']", "'bus*' matches 'business', a common English word"),
    ("limited to its language", "{sv: [is]}", None),
    ("limited, the word's own language", "{en: [school]}", None),
    ("words of no language's common list", "[lunta, snö, snow, 'buss*', isig]", None),
]


@pytest.mark.parametrize(
    ("words", "message"), [c[1:] for c in COMMON_WORDS], ids=[c[0] for c in COMMON_WORDS]
)
def test_common_words_of_a_language_are_warned_with_file_and_line(
    write: Write, words: str, message: str | None
) -> None:
    head = "version: 1\ndefault: kirjaamo\nrules:\n  - name: r\n    department: talvi\n"
    rules = f"{head}    when:\n      words: {words}\n"
    d, r, a = write(rules)
    found = check_config(d, r, a)
    if message is None:
        assert found == []
        return
    assert len(found) == 1 and found[0].severity == "warning", found
    assert str(found[0]).startswith(f"{r}:7: warning: rules[0].when.words: {message}"), str(found[0])


def test_a_common_word_is_warned_on_its_own_line_once_however_often_an_alias_repeats_it(write: Write) -> None:
    rules = """\
    version: 1
    default: kirjaamo
    rules:
      - name: a
        department: talvi
        when:
          any: &winter
            - words:
                - lunta
                - is
      - name: b
        department: puistot
        when: {all: [{any: *winter}, {area: etela}]}
    """
    d, r, a = write(rules)
    found = [str(p) for p in check_config(d, r, a)]
    assert len([p for p in found if "'is' is a common English word" in p]) == 1, found
    assert any(p.startswith(f"{r}:10: warning: rules[0].when.any[0].words: 'is'") for p in found), found


def test_a_warning_leaves_the_configuration_usable(write: Write) -> None:
    config = load_config(*write(_two_rules("{words: [is]}", "{words: [lunta]}")))
    assert [rule.name for rule in config.rules] == ["first", "second"]


def test_examples_are_routed_in_the_language_detected_from_their_text(write: Write) -> None:
    rules = """\
    version: 1
    default: kirjaamo
    rules:
      - name: ice
        department: talvi
        when: {words: {sv: [is]}}
        examples:
          - text: "Det är is på hela trottoaren utanför Stockmann."
          - text: "There is a bench missing in the park."
            expect: kirjaamo
          - text: "Det är is på hela trottoaren utanför Stockmann."
            language: null
    """
    d, r, a = write(rules)
    assert [str(p) for p in check_config(d, r, a)] == [
        f"{r}:11: rules[0].examples[2]: routed to 'kirjaamo' by the default, expected 'talvi'"
    ]


def test_check_config_exits_zero_on_warnings_and_prints_them(write: Write, tmp_path: Path) -> None:
    write(_two_rules("{words: [lunta, is]}", "{words: [kuoppa]}"))
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "rules.yaml:6: warning: rules[0].when.words: 'is' is a common English word" in result.stderr
