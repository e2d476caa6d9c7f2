"""Planning a case's deadlines: its clock (pauses, restarts) and its pending reminder, notice and alarm tasks.

`plan_deadlines` is idempotent and works from what it finds: call it, inside the transaction, after
anything that changes a case's status, department or due time. It compares the case with what its tasks
were last planned for (`case_clocks`) and

- moves the due time later by the office time the case spent `waiting` for the resident, when it leaves
  `waiting` for an open status;
- restarts the answer clock (now + the department's answer time) when an answered or closed case reopens;
- cancels the pending tasks planned for another due time, or all of them when the case is not open;
- plans the first reminder(s), interim notice(s) and alarm for the current due time (dedupe keys make a
  second call add nothing).

Both clock moves happen only if the due time is still the one last planned for, so a due time that the
caller set itself (a reroute) wins. The moment of the change is the case's `updated_at`, which the caller
sets, so two nodes planning the same change compute the same result.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy import Connection

from gateway.deadlines.clock import resumed_due, wanted_tasks
from gateway.deadlines.policy import DeadlinePolicy
from gateway.deadlines.worktime import Duration, WorkCalendar, add_working_time
from gateway.model import Case, CaseStatus
from gateway.store import cases as case_store
from gateway.store import clocks, tasks
from gateway.store.clocks import CaseClock

log = structlog.get_logger(__name__)

# The answer clock runs while a case is open; `waiting` pauses it; answered and closed stop it.
OPEN = frozenset({CaseStatus.NEW, CaseStatus.ROUTED})
STOPPED = frozenset({CaseStatus.ANSWERED, CaseStatus.CLOSED})


class Timings(Protocol):
    """A department's time, as the configuration in force says (`gateway.rules.Config` is one)."""

    def calendar(self, department: str | None) -> WorkCalendar: ...

    def deadline_policy(self, department: str | None) -> DeadlinePolicy: ...

    def answer_within(self, department: str | None) -> Duration | None: ...


def plan_deadlines(conn: Connection, case_id: int, now: datetime, config: Timings) -> int:
    """Bring the case's clock and tasks in step with the case; return how many tasks were added."""
    if not clocks.lock_case(conn, case_id):
        return 0
    case = case_store.get_case(conn, case_id=case_id)
    assert case is not None
    seen = clocks.get(conn, case_id)
    calendar = config.calendar(case.department)
    due, first_due = _moved_due(case, seen, config, calendar)
    if (due, first_due) != (case.due_at, case.first_response_due_at):
        clocks.set_due(conn, case_id, due, first_due)
        log.info("case clock moved", case=case.code, due=due.isoformat() if due else None)
    waiting_since = None
    if case.status is CaseStatus.WAITING:
        was_waiting = seen is not None and seen.status_seen == CaseStatus.WAITING
        waiting_since = seen.waiting_since if was_waiting and seen is not None else case.updated_at
    clocks.put(conn, case_id, CaseClock(str(case.status), due, waiting_since), now)
    if case.status not in OPEN or due is None:
        tasks.cancel_pending(conn, case_id, now, None)
        return 0
    tasks.cancel_pending(conn, case_id, now, due)
    policy = config.deadline_policy(case.department)
    wanted = wanted_tasks(case.code, due, policy, calendar, now)
    return tasks.add(conn, (tasks.NewTask(t.key, t.kind, case_id, t.due_at, due) for t in wanted), now)


def plan_deadlines_many(conn: Connection, case_ids: Iterable[int], now: datetime, config: Timings) -> int:
    """`plan_deadlines` for a batch (the sweep's): cases never planned that are open, the new ones, take
    four statements together instead of eight each; any other case goes through `plan_deadlines`."""
    found = case_store.lock_cases(conn, case_ids)
    seen = clocks.planned(conn, [case.id for case in found])
    fresh: list[tuple[Case, datetime]] = []
    added = 0
    for case in found:
        if case.id not in seen and case.status in OPEN and case.due_at is not None:
            fresh.append((case, case.due_at))  # no clock yet, so nothing moved and no task to cancel
        else:
            added += plan_deadlines(conn, case.id, now, config)
    clocks.put_new(conn, [(case.id, CaseClock(str(case.status), due, None)) for case, due in fresh], now)
    wanted = [
        tasks.NewTask(t.key, t.kind, case.id, t.due_at, due)
        for case, due in fresh
        for t in wanted_tasks(
            case.code, due, config.deadline_policy(case.department), config.calendar(case.department), now
        )
    ]
    return added + tasks.add(conn, wanted, now)


def _moved_due(
    case: Case, seen: CaseClock | None, config: Timings, calendar: WorkCalendar
) -> tuple[datetime | None, datetime | None]:
    """The case's due times after a pause ends or a stopped case reopens; unchanged otherwise."""
    due, first_due = case.due_at, case.first_response_due_at
    if seen is None or due is None or due != seen.due_seen or case.status not in OPEN:
        return due, first_due
    if seen.status_seen == CaseStatus.WAITING and seen.waiting_since is not None:
        due = resumed_due(due, seen.waiting_since, case.updated_at, calendar)
        if first_due is not None:
            first_due = resumed_due(first_due, seen.waiting_since, case.updated_at, calendar)
        return due, first_due
    answer_within = config.answer_within(case.department)
    if seen.status_seen in STOPPED and answer_within is not None:
        return add_working_time(case.updated_at, answer_within, calendar), first_due
    return due, first_due


def set_status(conn: Connection, case: Case, status: CaseStatus, now: datetime, config: Timings) -> Case:
    """Change a case's status (staff: waiting and back, answered, closed) and plan its deadlines."""
    case_store.update_case(conn, case.id, status=str(status), updated_at=now)
    plan_deadlines(conn, case.id, now, config)
    fresh = case_store.get_case(conn, case_id=case.id)
    assert fresh is not None
    return fresh
