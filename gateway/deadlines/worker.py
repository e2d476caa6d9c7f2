"""The deadline worker: fires due reminder, interim notice and alarm tasks, each once, on any number of nodes.

A round claims the due tasks with a lease (gateway.store.tasks), then fires each in a transaction of its
own that locks the case, checks the task still applies, queues its mail in the outbox under the task's key
(Message-ID derived from the key), marks the task done only if this process still holds it, and plans the
next repeat. Whatever happens to a process in between, the mail is queued once or not at all, and a task
whose lease ran out is taken over by another node. Due times are on the app clock; leases on the
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
from gateway.deadlines.plan import OPEN, calendar_of, plan_deadlines, plan_deadlines_many
from gateway.model import Address
from gateway.notifier import deadline_mail as notices
from gateway.notifier.compose import compose, message_id_for
from gateway.notifier.plan import Planner
from gateway.notifier.templates import Templates
from gateway.rules import Config, add_working_time
from gateway.store import cases as case_store
from gateway.store import clocks, outbox, tasks
from gateway.store.cases import CaseRow
from gateway.store.db import Database
from gateway.store.tasks import ClaimedTask

log = structlog.get_logger(__name__)

# Cases the sweep plans in one write transaction: a few milliseconds of SQLite's write lock (decision 0009).
SWEEP_CHUNK = 8


class Directory(Protocol):
    """What the worker reads of the configuration in force (gateway.rules.live.LiveConfig)."""

    @property
    def current(self) -> Config: ...

    def department_name(self, key: str, language: str) -> str: ...

    def contact_at(self, department: str, now: datetime) -> str | None: ...

    def escalation(self, department: str) -> str | None: ...


class LostLease(Exception):
    """Another process took the task over after our lease ran out: our round on it is rolled back."""


class DeadlineWorker:
    def __init__(
        self,
        db: Database,
        planner: Planner,
        templates: Templates,
        directory: Directory,
        clock: Callable[[], datetime],
        owner: str,
        *,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 64,
        sweep_batch: int = 500,
        max_attempts: int = 8,
        staff_language: str = "fi",
        unreachable_for: timedelta = timedelta(days=3),
    ) -> None:
        self._db = db
        self._planner = planner
        self._templates = templates
        self._directory = directory
        self._clock = clock
        self._owner = owner
        self._lease = lease
        self._batch = batch
        self._sweep_batch = sweep_batch
        self._max_attempts = max_attempts
        self._staff_language = staff_language
        self._unreachable_for = unreachable_for
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
                except LostLease:
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
                raise LostLease
            if case is not None and not still_applies:
                plan_deadlines(conn, case.id, now, config)  # the case changed unplanned: catch up
            elif case is not None:
                self._plan_repeat(conn, task, case, config, now)
        return outcome

    def _act(self, conn: Connection, task: ClaimedTask, case: CaseRow, config: Config, now: datetime) -> str:
        if task.kind == "reminder":
            return self._remind(conn, task, case, config, now)
        if task.kind == "interim":
            return self._interim(conn, task, case, config, now)
        return self._alarm(conn, task, case, config, now)

    def _remind(
        self, conn: Connection, task: ClaimedTask, case: CaseRow, config: Config, now: datetime
    ) -> str:
        assert case.due_at is not None
        if now >= case.due_at:
            return "late"  # the alarm speaks now
        forward = clocks.latest_forward(conn, case.id)
        to = forward[0] if forward else self._contact(case, now)
        if to is None:
            return "no-recipient"
        name = self._directory.department_name(case.department or "", self._staff_language)
        values = notices.reminder_values(case, name, now, config.timezone, self._staff_language)
        thread = forward[1] if forward else None
        self._queue(
            conn, task, case, to, "reminder", self._staff_language, values, now, thread, "auto-generated"
        )
        return "sent"

    def _interim(
        self, conn: Connection, task: ClaimedTask, case: CaseRow, config: Config, now: datetime
    ) -> str:
        assert case.due_at is not None
        policy = config.deadline_policy(case.department)
        calendar = calendar_of(config, case.department)
        last = tasks.last_sent_due(conn, case.id, "interim")
        if last is not None and add_working_time(last, policy.interim_every, calendar) > task.due_at:
            return "too-soon"  # at most one interim notice per interval
        to = case.resident_email
        if not to or not self._planner.may_answer(to):
            return "no-recipient"
        if outbox.is_unreachable(conn, to, now - self._unreachable_for):
            return "held"
        expected = add_working_time(max(now, case.due_at), policy.interim_every, calendar)
        office = self._directory.department_name(case.department or "", case.language)
        values = notices.interim_values(case, office, expected, config.timezone)
        self._queue(
            conn, task, case, to, "interim", case.language, values, now, case.message_id, "auto-replied"
        )
        return "sent"

    def _alarm(
        self, conn: Connection, task: ClaimedTask, case: CaseRow, config: Config, now: datetime
    ) -> str:
        department = case.department or ""
        to = self._directory.escalation(department) or self._contact(case, now)
        if to is None:
            return "no-recipient"
        forward = clocks.latest_forward(conn, case.id)
        handler = forward[0] if forward else (self._contact(case, now) or "-")
        name = self._directory.department_name(department, self._staff_language)
        number = int(task.key.rpartition(":")[2])
        values = notices.alarm_values(case, name, handler, number, now, config.timezone)
        thread = forward[1] if forward else None
        self._queue(
            conn, task, case, to, "alarm", self._staff_language, values, now, thread, "auto-generated"
        )
        return "sent"

    def _contact(self, case: CaseRow, now: datetime) -> str | None:
        return self._directory.contact_at(case.department, now) if case.department else None

    def _plan_repeat(
        self, conn: Connection, task: ClaimedTask, case: CaseRow, config: Config, now: datetime
    ) -> None:
        """After an alarm, the next one; after an interim notice, the next; reminders do not repeat."""
        if task.kind == "reminder" or case.due_at is None:
            return
        policy = config.deadline_policy(case.department)
        every = policy.alarm_every if task.kind == "alarm" else policy.interim_every
        key, _ = repeat_key(task.key)
        at = next_repeat(max(task.due_at, case.due_at), every, now, calendar_of(config, case.department))
        tasks.add(conn, [tasks.NewTask(key, task.kind, case.id, at, case.due_at)], now)

    def _queue(
        self,
        conn: Connection,
        task: ClaimedTask,
        case: CaseRow,
        to: str,
        template: str,
        language: str,
        values: dict[str, str],
        now: datetime,
        thread: str | None,
        auto_submitted: str,
    ) -> None:
        """Queue the task's mail under the task's key: a retry cannot make a second, different mail."""
        identity = self._planner.identity
        message_id = message_id_for(task.key, identity.domain, identity.secret)
        rendered = self._templates.render(template, language, **values)
        staff = auto_submitted == "auto-generated"
        body = compose(
            identity,
            to=Address(to),
            subject=rendered.subject,
            body=rendered.body,
            message_id=message_id,
            date=now,
            in_reply_to=thread,
            references=(thread,) if thread else (),
            auto_submitted=auto_submitted,
            reply_to=self._planner.reply_address(case.code, case.department) if staff else None,
            language=language,
        )
        # Staff mail goes out with our address as the envelope sender, so that a bounce comes back to
        # us; notices to residents with a null one (RFC 3834 section 3.3).
        mail_from = identity.address if staff else ""
        item = outbox.OutboundItem(task.key, task.kind, to, body, case.id, "mail", mail_from, message_id)
        outbox.enqueue(conn, item, now)  # the outbox row is how a reply finds its case
