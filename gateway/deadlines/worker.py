"""The deadline worker: fires due reminder, interim notice and alarm tasks, each once, on any number of nodes.

A round claims the due tasks with a lease (gateway.store.tasks), then fires each in a transaction of its
own that locks the case, checks the task still applies, hands its mail to `Notices` (the notifier's one
outbound path: the same guard as every mail, queued under the task's key, Message-ID derived from it),
marks the task done only if this process still holds it, and plans the next repeat. When a task falls is
decided here; what its mail says, and whether it may go, is the notifier's. Whatever happens to a
process in between, the mail is queued once or not at all, and a task whose lease ran out is taken over
by another node. Due times are on the app clock; leases on the
database's (docs/decisions/0006-deadlines.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import Connection

from gateway.deadlines.clock import next_repeat, repeat_key
from gateway.deadlines.plan import OPEN, Timings, plan_deadlines, plan_deadlines_many
from gateway.deadlines.worktime import add_working_time
from gateway.errors import LeaseLost
from gateway.model import Case
from gateway.store import cases as case_store
from gateway.store import clocks, tasks
from gateway.store.db import Database
from gateway.store.tasks import ClaimedTask

log = structlog.get_logger(__name__)

# Cases the sweep plans in one write transaction: a few milliseconds of SQLite's write lock (decision 0009).
SWEEP_CHUNK = 8


class Directory(Protocol):
    """What the worker reads of the configuration in force (gateway.rules.live.LiveConfig)."""

    @property
    def current(self) -> Timings: ...

    def contact_at(self, department: str, now: datetime) -> str | None: ...

    def escalation(self, department: str) -> str | None: ...


class Notices(Protocol):
    """The mail a task owes, queued under the task's *key* inside the task's transaction; each returns None
    when queued (now, or by an earlier try), else why it was held back (gateway.notifier.deadline_mail)."""

    def remind(
        self, conn: Connection, key: str, case: Case, to: str, thread: str | None, now: datetime
    ) -> str | None: ...

    def interim(
        self, conn: Connection, key: str, case: Case, expected: datetime, now: datetime
    ) -> str | None: ...

    def alarm(
        self,
        conn: Connection,
        key: str,
        case: Case,
        to: str,
        handler: str,
        number: int,
        thread: str | None,
        now: datetime,
    ) -> str | None: ...


class DeadlineWorker:
    def __init__(
        self,
        db: Database,
        notices: Notices,
        directory: Directory,
        clock: Callable[[], datetime],
        owner: str,
        *,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 64,
        sweep_batch: int = 500,
        max_attempts: int = 8,
    ) -> None:
        self._db = db
        self._notices = notices
        self._directory = directory
        self._clock = clock
        self._owner = owner
        self._lease = lease
        self._batch = batch
        self._sweep_batch = sweep_batch
        self._max_attempts = max_attempts
        self._cursor = 0  # where the sweep for unplanned cases got to

    async def run_once(self) -> int:
        """Fire one batch of due tasks and sweep one stretch of cases; return how much work was found."""
        return await asyncio.to_thread(self.run_once_sync)

    def run_once_sync(self) -> int:
        claimed = tasks.claim_due(self._db, self._owner, self._batch, self._clock(), self._lease)
        for task in claimed:
            with structlog.contextvars.bound_contextvars(task=task.key):
                try:
                    outcome = self._fire(task)
                except LeaseLost:
                    log.info("task taken over by another process")
                except Exception as exc:  # the worker-loop catch-all: retry after the lease, then give up
                    give_up = task.attempts >= self._max_attempts
                    log.exception("task failed", attempts=task.attempts, given_up=give_up)
                    tasks.record_failure(
                        self._db, task.id, self._owner, f"{type(exc).__name__}: {exc}", give_up
                    )
                else:
                    log.info("task done", kind=task.kind, outcome=outcome)
        return len(claimed) + self.sweep()

    def sweep(self) -> int:
        """Plan the cases, in one stretch of ids, whose tasks do not match their status or due time:
        cases from before this feature, and changes made without calling plan_deadlines."""
        with self._db.read() as conn:
            found, last = clocks.out_of_step(conn, self._cursor, self._sweep_batch)
        self._cursor = 0 if last is None else last
        now, config = self._clock(), self._directory.current
        # A commit per case cost more than the planning; one for a whole stretch held SQLite's write lock
        # for up to 60 ms, and every sender waiting for a 250 waited that long. Chunks take turns. Their
        # commits do not wait for the disk (decision 0012): a plan that a power cut undoes is out of step
        # again, and the sweep makes it again; nothing is sent from it before a durable commit.
        for start in range(0, len(found), SWEEP_CHUNK):
            with self._db.write(durable=False) as conn:
                plan_deadlines_many(conn, found[start : start + SWEEP_CHUNK], now, config)
        return len(found)

    def _fire(self, task: ClaimedTask) -> str:
        now = self._clock()
        config = self._directory.current
        with self._db.write() as conn:
            case = None
            if task.case_id is not None and clocks.lock_case(conn, task.case_id):
                case = case_store.get_case(conn, case_id=task.case_id)
            still_applies = case is not None and case.status in OPEN and case.due_at == task.planned_for
            outcome = self._act(conn, task, case, config, now) if case and still_applies else "obsolete"
            if not tasks.finish(conn, task.id, self._owner, outcome, now):
                raise LeaseLost
            if case is not None and not still_applies:
                plan_deadlines(conn, case.id, now, config)  # the case changed unplanned: catch up
            elif case is not None:
                self._plan_repeat(conn, task, case, config, now)
        return outcome

    def _act(self, conn: Connection, task: ClaimedTask, case: Case, config: Timings, now: datetime) -> str:
        if task.kind == "reminder":
            return self._remind(conn, task, case, config, now)
        if task.kind == "interim":
            return self._interim(conn, task, case, config, now)
        return self._alarm(conn, task, case, config, now)

    def _remind(self, conn: Connection, task: ClaimedTask, case: Case, config: Timings, now: datetime) -> str:
        assert case.due_at is not None
        if now >= case.due_at:
            return "late"  # the alarm speaks now
        forward = clocks.latest_forward(conn, case.id)
        to = forward[0] if forward else self._contact(case, now)
        if to is None:
            return "no-recipient"
        thread = forward[1] if forward else None
        return _outcome(self._notices.remind(conn, task.key, case, to, thread, now))

    def _interim(
        self, conn: Connection, task: ClaimedTask, case: Case, config: Timings, now: datetime
    ) -> str:
        assert case.due_at is not None
        policy = config.deadline_policy(case.department)
        calendar = config.calendar(case.department)
        last = tasks.last_sent_due(conn, case.id, "interim")
        if last is not None and add_working_time(last, policy.interim_every, calendar) > task.due_at:
            return "too-soon"  # at most one interim notice per interval
        if not case.resident_email:
            return "no-recipient"
        expected = add_working_time(max(now, case.due_at), policy.interim_every, calendar)
        return _outcome(self._notices.interim(conn, task.key, case, expected, now))

    def _alarm(self, conn: Connection, task: ClaimedTask, case: Case, config: Timings, now: datetime) -> str:
        department = case.department or ""
        to = self._directory.escalation(department) or self._contact(case, now)
        if to is None:
            return "no-recipient"
        forward = clocks.latest_forward(conn, case.id)
        handler = forward[0] if forward else (self._contact(case, now) or "-")
        number = int(task.key.rpartition(":")[2])
        thread = forward[1] if forward else None
        return _outcome(self._notices.alarm(conn, task.key, case, to, handler, number, thread, now))

    def _contact(self, case: Case, now: datetime) -> str | None:
        return self._directory.contact_at(case.department, now) if case.department else None

    def _plan_repeat(
        self, conn: Connection, task: ClaimedTask, case: Case, config: Timings, now: datetime
    ) -> None:
        """After an alarm, the next one; after an interim notice, the next; reminders do not repeat."""
        if task.kind == "reminder" or case.due_at is None:
            return
        policy = config.deadline_policy(case.department)
        every = policy.alarm_every if task.kind == "alarm" else policy.interim_every
        key, _ = repeat_key(task.key)
        at = next_repeat(max(task.due_at, case.due_at), every, now, config.calendar(case.department))
        tasks.add(conn, [tasks.NewTask(key, task.kind, case.id, at, case.due_at)], now)


def _outcome(held: str | None) -> str:
    """A task's outcome from what the outbound path said: "sent", or "held" (the reason is logged there)."""
    return "sent" if held is None else "held"
