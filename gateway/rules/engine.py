"""The rule engine: a pure function of (config, case fields, clock) returning a `Decision`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from gateway.deadlines.worktime import add_working_time
from gateway.model import Decision, RuleMiss
from gateway.rules.case import CaseFields
from gateway.rules.conditions import All, Condition, Facts
from gateway.rules.config import Config, Department, Rule


def route(config: Config, case: CaseFields, now: datetime) -> Decision:
    """Where *case* goes: the first rule whose conditions all hold, else the default department. The
    decision names the rules tried before it and the condition each one missed on."""
    facts = Facts(case, now, config.timezone, config.word_index)
    missed: list[Rule] = []
    for rule in config.rules:
        if rule.condition is None:
            decision = _decide(config, rule.department, rule.name, rule.priority, ("always",), now, rule)
            return _with_misses(decision, missed, facts)
        reasons = rule.condition.match(facts)
        if reasons is not None:
            decision = _decide(config, rule.department, rule.name, rule.priority, reasons, now, rule)
            return _with_misses(decision, missed, facts)
        missed.append(rule)
    decision = _decide(config, config.default, "default", "normal", ("no rule matched",), now)
    return _with_misses(decision, missed, facts)


def _with_misses(decision: Decision, missed: list[Rule], facts: Facts) -> Decision:
    """*decision* with why each rule in *missed* did not match: worked out only for those, after the
    match, so that the first-match loop stays as cheap as before."""
    if not missed:
        return decision
    misses = tuple(RuleMiss(r.name, why_not(r.condition, facts)) for r in missed if r.condition is not None)
    return dataclasses.replace(decision, misses=misses)


def why_not(condition: Condition, facts: Facts) -> str:
    """The part of *condition* that does not hold for *facts*: in `all`, the first child that fails."""
    if isinstance(condition, All):
        for child in condition.children:
            if child.match(facts) is None:
                return why_not(child, facts)
    return f"no match for {condition.describe()}"


def matching_rule(config: Config, case: CaseFields, now: datetime) -> Rule | None:
    """The rule `route` would pick, or None when the default takes the case."""
    facts = Facts(case, now, config.timezone, config.word_index)
    for rule in config.rules:
        if rule.condition is None or rule.condition.match(facts) is not None:
            return rule
    return None


def route_to(config: Config, department: str, now: datetime, priority: str = "normal") -> Decision:
    """A decision for an explicitly chosen department (manual reroute); raises KeyError if unknown."""
    config.department(department)
    reason = f"routed manually to {department}"
    return _decide(config, department, "manual", priority, (reason,), now)


def _decide(
    config: Config,
    department: str,
    rule_name: str,
    priority: str,
    reasons: tuple[str, ...],
    now: datetime,
    rule: Rule | None = None,
) -> Decision:
    dept: Department = config.department(department)
    answer = rule.answer_within if rule and rule.answer_within else dept.answer_within
    first = rule.first_response_within if rule and rule.first_response_within else dept.first_response_within
    start = now.astimezone(UTC)
    return Decision(
        department=department,
        rule=rule_name,
        priority=priority,
        reasons=reasons,
        contact=dept.contact_at(start),
        webhook=dept.webhook.url if dept.webhook else None,
        due=add_working_time(start, answer, dept.calendar),
        first_response_due=add_working_time(start, first, dept.calendar),
    )
