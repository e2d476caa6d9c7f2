"""What staff and operators do to a case: send it to another department (reroute)."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import Connection

from gateway.deadlines.plan import plan_deadlines
from gateway.errors import NoSuchCase, UnknownDepartment
from gateway.model import Case, CaseStatus, Decision, EventKind
from gateway.notifier.plan import Planner
from gateway.rules import Config, route_to
from gateway.rules.live import LiveConfig
from gateway.store import cases as case_store
from gateway.store.codec import decision_columns, decision_json
from gateway.store.db import Database

log = structlog.get_logger(__name__)


def reroute_case(
    conn: Connection,
    config: Config,
    planner: Planner,
    case: Case,
    department: str,
    *,
    actor: str,
    why: str,
    now: datetime,
) -> Decision:
    """Send *case* to *department* inside the caller's transaction: a new decision and due date, an event
    saying who and why, and a fresh hand-over to the new department."""
    if department not in config.departments:
        known = ", ".join(sorted(config.departments))
        raise UnknownDepartment(f"no department {department!r}; known: {known}")
    decision = route_to(config, department, now, priority=case.priority or "normal")
    event_id = case_store.insert_event(
        conn,
        case.id,
        EventKind.REROUTED,
        now,
        actor=actor,
        text=why,
        data={"from": case.department, "to": department, **decision_json(decision)},
    )
    status = CaseStatus.ROUTED if case.status in (CaseStatus.NEW, CaseStatus.ROUTED) else case.status
    case_store.update_case(conn, case.id, status=str(status), updated_at=now, **decision_columns(decision))
    plan_deadlines(conn, case.id, now, config)  # the clock restarts for the new department
    fresh = case_store.get_case(conn, case_id=case.id)
    assert fresh is not None
    attachments = case_store.load_attachments(conn, case.id)
    planner.plan_handover(conn, fresh, decision, fresh.text, attachments, now, f"reroute-{event_id}")
    log.info("case rerouted", case=case.code, to=department, by=actor, why=why)
    return decision


def reroute(
    db: Database,
    live: LiveConfig,
    planner: Planner,
    code: str,
    department: str,
    *,
    actor: str,
    why: str,
    now: datetime,
) -> str:
    """Reroute case *code* in a transaction of its own; returns the department's display name."""
    with db.write() as conn:
        case = case_store.get_case(conn, code=code)
        if case is None:
            raise NoSuchCase(f"no case {code}")
        reroute_case(conn, live.current, planner, case, department, actor=actor, why=why, now=now)
    return live.department_name(department, "fi")
