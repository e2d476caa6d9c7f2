"""`check_config`: load, then run every rule's examples and warn about rules that can never match."""

from __future__ import annotations

from pathlib import Path

from gateway.rules.conditions import (
    All,
    AnyOf,
    Condition,
    FieldIs,
    InArea,
    InTime,
    Matches,
    Recipient,
    Sender,
    SenderDomain,
    Words,
)
from gateway.rules.config import Config, Rule
from gateway.rules.engine import matching_rule
from gateway.rules.problems import Problem
from gateway.rules.schema import load_with_problems


def check_config(departments: Path, rules: Path, areas: Path | None = None) -> list[Problem]:
    """Every problem: load errors, examples that route elsewhere, and shadowed rules (warnings)."""
    config, problems = load_with_problems(departments, rules, areas)
    if config is None:
        return problems
    return problems + check_examples(config) + check_shadowed(config)


def check_examples(config: Config) -> list[Problem]:
    problems: list[Problem] = []
    for rule in config.rules:
        for j, example in enumerate(rule.examples):
            where = f"rules[{rule.index}].examples[{j}]"
            winner = matching_rule(config, example.case, example.at)
            got = winner.department if winner else config.default
            by = f"rule {winner.name!r}" if winner else "the default"
            if got != example.expect:
                message = f"{where}: routed to {got!r} by {by}, expected {example.expect!r}"
                problems.append(Problem(config.rules_file, example.line, message))
            elif not example.explicit and winner is not rule:
                # Right department, but another rule took it: this rule is not what the example tests.
                message = f"{where}: matched by {by} before rule {rule.name!r}"
                problems.append(Problem(config.rules_file, example.line, message, "warning"))
    return problems


def check_shadowed(config: Config) -> list[Problem]:
    """Warn about a rule when an earlier rule matches at least everything it matches (a cheap test)."""
    problems: list[Problem] = []
    for j, later in enumerate(config.rules):
        for earlier in config.rules[:j]:
            if implies(later.condition, earlier.condition):
                message = (
                    f"rules[{later.index}] {later.name!r} can never match: "
                    f"rules[{earlier.index}] {earlier.name!r} (line {earlier.line}) "
                    "matches everything it matches"
                )
                problems.append(Problem(config.rules_file, later.line, message, "warning"))
                break
    return problems


def implies(a: Condition | None, b: Condition | None) -> bool:
    """True only when every case matching *a* surely matches *b* (None is "always"); sound, not complete."""
    if b is None:
        return True
    if a is None:
        return False
    if a == b:
        return True
    if isinstance(b, AnyOf) and any(implies(a, c) for c in b.children):
        return True
    if isinstance(b, All):
        return all(implies(a, c) for c in b.children)
    if isinstance(a, All) and any(implies(c, b) for c in a.children):
        return True
    if isinstance(a, AnyOf):
        return all(implies(c, b) for c in a.children)
    return _leaf_implies(a, b)


def _leaf_implies(a: Condition, b: Condition) -> bool:
    if isinstance(a, Words) and isinstance(b, Words):
        if b.language is not None and a.language != b.language:
            return False
        return all(any(_word_covers(wb, wa) for wb in b.entries) for wa in a.entries)
    if isinstance(a, Matches) and isinstance(b, Matches):
        return {p.pattern for p in a.patterns} <= {p.pattern for p in b.patterns}
    if isinstance(a, InArea) and isinstance(b, InArea):
        return {x.name for x in a.areas} <= {x.name for x in b.areas}
    if isinstance(a, InTime) and isinstance(b, InTime):
        inner = [iv for w in a.windows for iv in w.intervals]
        outer = [iv for w in b.windows for iv in w.intervals]
        return all(any(s2 <= s1 and e1 <= e2 for s2, e2 in outer) for s1, e1 in inner)
    if isinstance(a, FieldIs) and isinstance(b, FieldIs):
        return a.name == b.name and a.values <= b.values
    if isinstance(a, Sender) and isinstance(b, Sender):
        return a.addresses <= b.addresses
    if isinstance(a, SenderDomain) and isinstance(b, SenderDomain):
        return all(any(d == e or d.endswith("." + e) for e in b.domains) for d in a.domains)
    if isinstance(a, Recipient) and isinstance(b, Recipient):
        return a.addresses <= b.addresses
    return False


def _word_covers(pattern: str, word: str) -> bool:
    """Does word entry *pattern* match everything word entry *word* matches?"""
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return pattern == word


__all__ = ["Rule", "check_config", "check_examples", "check_shadowed", "implies"]
