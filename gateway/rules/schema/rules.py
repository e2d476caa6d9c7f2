"""Reads rules.yaml: the default department and each rule, its `when:` condition and its examples."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from gateway.rules.condition_schema import ConditionBuilder
from gateway.rules.config import PRIORITIES, Example, Rule
from gateway.rules.reader import Reader, suggest
from gateway.rules.schema.examples import read_example
from gateway.rules.schema.fields import check_version, read_duration
from gateway.rules.yamlload import YList

RULES_KEYS = ("version", "default", "rules")
RULE_KEYS = (
    "name", "description", "department", "priority", "when", "answer_within",
    "first_response_within", "examples",
)  # fmt: skip


def load_rules(
    r: Reader,
    data: Any,
    builder: ConditionBuilder,
    departments: frozenset[str] | None,
    tz: ZoneInfo,
    addresses: list[str],
) -> tuple[list[Rule], str] | None:
    if data is None:
        return None
    top = r.mapping(data, "rules.yaml", 1, RULES_KEYS, ("default", "rules"))
    if top is None:
        return None
    check_version(r, top)
    default = r.string(top.get("default"), "default", top.line_of("default")) if "default" in top else None
    if default is not None and departments is not None and default not in departments:
        hint = suggest(default, departments)
        r.error(top.line_of("default"), f"default: unknown department {default!r}{hint}")
    node = top.get("rules")
    if not isinstance(node, YList):
        if "rules" in top:
            r.error(top.line_of("rules"), "rules: expected a list of rules")
        return None
    rules: list[Rule] = []
    first_line: dict[str, int] = {}
    for i, item in enumerate(node):
        rule = _rule(r, i, item, node.line_of(i), builder, departments, tz, addresses)
        if rule is None:
            continue
        if rule.name in first_line:
            r.error(
                rule.line,
                f"rules[{i}]: duplicate rule name {rule.name!r} (first on line {first_line[rule.name]})",
            )
        first_line.setdefault(rule.name, rule.line)
        rules.append(rule)
    if default is None:
        return None
    return rules, default


def _rule(
    r: Reader,
    i: int,
    item: Any,
    line: int,
    builder: ConditionBuilder,
    departments: frozenset[str] | None,
    tz: ZoneInfo,
    addresses: list[str],
) -> Rule | None:
    where = f"rules[{i}]"
    node = r.mapping(item, where, line, RULE_KEYS, ("name", "department"))
    if node is None:
        return None
    before = r.errors
    name = r.string(node.get("name"), f"{where}.name", node.line_of("name")) if "name" in node else None
    dept = None
    if "department" in node:
        dept = r.string(node["department"], f"{where}.department", node.line_of("department"))
        if dept is not None and departments is not None and dept not in departments:
            hint = suggest(dept, departments)
            r.error(node.line_of("department"), f"{where}.department: unknown department {dept!r}{hint}")
    priority = str(node.get("priority", "normal"))
    if priority not in PRIORITIES:
        r.error(
            node.line_of("priority"), f"{where}.priority: {priority!r} is not one of {', '.join(PRIORITIES)}"
        )
    condition = None  # `when: always`
    if "when" not in node:
        # Issue 15: a rule without `when` took every case, and only later rules' examples said so.
        r.error(
            node.line,
            f"{where}: missing 'when': a rule without conditions takes every case "
            "(write 'when: always' if that is meant, or use 'default')",
        )
    elif node["when"] != "always":
        condition = builder.build(node["when"], f"{where}.when", node.line_of("when"))
    answer = read_duration(r, node, "answer_within", where, None)
    first = read_duration(r, node, "first_response_within", where, None)
    examples: list[Example] = []
    raw = node.get("examples")
    if "examples" in node and not isinstance(raw, YList):
        r.error(node.line_of("examples"), f"{where}.examples: expected a list of examples")
    elif isinstance(raw, YList):
        for j, ex in enumerate(raw):
            example = read_example(
                r, f"{where}.examples[{j}]", ex, raw.line_of(j), dept or "", departments, tz, addresses
            )
            if example is not None:
                examples.append(example)
    if r.errors > before or name is None or dept is None:
        return None
    return Rule(
        name=name,
        department=dept,
        priority=priority,
        condition=condition,
        line=node.line,
        index=i,
        description=str(node.get("description", "")),
        answer_within=answer,
        first_response_within=first,
        examples=tuple(examples),
    )
