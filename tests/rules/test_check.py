"""check_config: examples are run like unit tests, and rules that can never match are warned about."""

from __future__ import annotations

from gateway.rules import check_config

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
