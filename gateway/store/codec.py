"""How domain values are stored: a `Decision` as the case's JSON column and its own columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.model import Decision
from gateway.model.decision import RuleMiss


def decision_json(decision: Decision) -> dict[str, object]:
    """The decision as JSON (the case's `decision` column, and the data of its routed events)."""
    return {
        "department": decision.department,
        "rule": decision.rule,
        "priority": decision.priority,
        "reasons": list(decision.reasons),
        "contact": decision.contact,
        "webhook": decision.webhook,
        "due": decision.due.isoformat() if decision.due else None,
        "first_response_due": decision.first_response_due.isoformat()
        if decision.first_response_due
        else None,
        "misses": [{"rule": m.rule, "why": m.why} for m in decision.misses],
    }


def decision_from_json(data: dict[str, Any] | None) -> Decision | None:
    """The decision stored by `decision_json` (cases from before `misses` have none)."""
    if not data:
        return None
    return Decision(
        department=str(data["department"]),
        rule=str(data["rule"]),
        priority=str(data.get("priority") or "normal"),
        reasons=tuple(str(r) for r in data.get("reasons") or ()),
        contact=data.get("contact"),
        webhook=data.get("webhook"),
        due=_when(data.get("due")),
        first_response_due=_when(data.get("first_response_due")),
        misses=tuple(RuleMiss(str(m["rule"]), str(m["why"])) for m in data.get("misses") or ()),
    )


def decision_columns(decision: Decision | None) -> dict[str, object]:
    """The case columns that store a routing decision."""
    if decision is None:
        return {}
    return {
        "department": decision.department,
        "rule": decision.rule,
        "priority": decision.priority,
        "decision": decision_json(decision),
        "due_at": decision.due,
        "first_response_due_at": decision.first_response_due,
    }


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None
