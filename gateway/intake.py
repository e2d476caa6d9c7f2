"""The one pipeline every channel feeds: receipt → normalise → classify → route → persist and plan."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.mail import parse
from gateway.model import CaseStatus, Decision, EventKind, InboundMessage, MessageKind
from gateway.notifier.compose import Identity, is_our_loop_marker
from gateway.notifier.plan import Planner
from gateway.store import cases as case_store
from gateway.store import receipts as receipt_store
from gateway.store.cases import CaseRow
from gateway.store.db import Database
from gateway.store.receipts import Receipt
from gateway.tracking import new_code

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5


class Router(Protocol):
    """Decides where a new case goes; the daemon builds it from the current rules (issue 3)."""

    def __call__(
        self, msg: InboundMessage, channel: str, rcpt_tos: tuple[str, ...], now: datetime
    ) -> Decision | None: ...


class LostLease(Exception):
    """Another worker finished this receipt after our lease ran out: our work on it is rolled back."""


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # new-case, follow-up, duplicate, automatic, bounce, loop
    case_id: int | None = None
    code: str | None = None


class Intake:
    """Turns committed receipts into cases, each exactly once, on any number of workers and nodes."""

    def __init__(
        self,
        db: Database,
        planner: Planner,
        identity: Identity,
        router: Router | None,
        clock: Callable[[], datetime],
        owner: str,
        code_prefix: str = "HEL",
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self._db = db
        self._planner = planner
        self._identity = identity
        self._router = router
        self._clock = clock
        self._owner = owner
        self._prefix = code_prefix
        self._lease = lease

    async def run_once_async(self, limit: int = 64) -> int:
        """`run_once` off the event loop: parsing and the database are blocking work."""
        return await asyncio.to_thread(self.run_once, limit)

    def run_once(self, limit: int = 64) -> int:
        """Process up to *limit* pending receipts; return how many were claimed."""
        batch = receipt_store.claim_pending(self._db, self._owner, limit, self._clock(), self._lease)
        if not batch:
            return 0
        parsed: list[tuple[Receipt, InboundMessage | str]] = []
        for receipt in batch:  # parse outside any transaction: it is the slow part
            try:
                parsed.append((receipt, self._normalise(receipt)))
            except Exception:  # a bug in the parser must park one message, not stop intake
                parsed.append((receipt, traceback.format_exc(limit=8)))
        with self._db.write() as conn:
            for receipt, msg in parsed:
                self._settle(conn, receipt, msg)
        return len(batch)

    def _normalise(self, receipt: Receipt) -> InboundMessage:
        return parse(
            receipt.raw,
            envelope_rcpts=receipt.rcpt_tos,
            mail_from=receipt.mail_from,
            code_prefix=self._prefix,
        )

    def _settle(self, conn: Connection, receipt: Receipt, msg: InboundMessage | str) -> None:
        now = self._clock()
        with structlog.contextvars.bound_contextvars(receipt=receipt.id):
            if isinstance(msg, str):
                log.error("receipt parked: normalising failed", error=msg.strip().splitlines()[-1])
                receipt_store.park(conn, receipt.id, msg, now)
                return
            try:
                with conn.begin_nested():
                    outcome = self._handle(conn, receipt, msg, now)
                    if not receipt_store.finish(
                        conn,
                        receipt.id,
                        self._owner,
                        outcome=outcome.kind,
                        now=now,
                        message_id=msg.message_id,
                        case_id=outcome.case_id,
                    ):
                        raise LostLease
            except LostLease:
                log.info("receipt taken over by another worker")
            except IntegrityError as exc:
                # A race with another node (the same Message-ID, a code collision): retry after the lease.
                if receipt.attempts >= MAX_ATTEMPTS:
                    receipt_store.park(
                        conn, receipt.id, f"gave up after {receipt.attempts} attempts: {exc}", now
                    )
                log.warning("receipt will be retried", error=str(exc).splitlines()[0])
            except SQLAlchemyError:
                raise  # the database itself failed: the whole batch is retried after the lease
            except Exception:
                error = traceback.format_exc(limit=8)
                log.error("receipt parked", error=error.strip().splitlines()[-1])
                receipt_store.park(conn, receipt.id, error, now)
            else:
                with structlog.contextvars.bound_contextvars(case=outcome.code):
                    log.info("receipt processed", outcome=outcome.kind, message_id=msg.message_id)

    def _handle(self, conn: Connection, receipt: Receipt, msg: InboundMessage, now: datetime) -> Outcome:
        if msg.loop_marker and is_our_loop_marker(self._identity, msg.message_id, msg.loop_marker):
            log.warning("our own mail came back; dropped", message_id=msg.message_id)
            return Outcome(str(MessageKind.LOOP))
        seen, seen_case = case_store.seen_message_id(conn, msg.message_id)
        if seen:
            return Outcome("duplicate", seen_case)
        kind, case = self._classify(conn, msg)
        if kind is MessageKind.NEW:
            outcome = self._open_case(conn, receipt, msg, now)
        elif case is None:  # automatic mail or a bounce that belongs to no case: kept in the receipt only
            outcome = Outcome(str(kind))
        else:
            self._add_to_case(conn, receipt, msg, kind, case, now)
            outcome = Outcome(str(kind), case.id, case.code)
        case_store.remember_message_id(conn, msg.message_id, outcome.case_id, "in", receipt.id)
        return outcome

    def _classify(self, conn: Connection, msg: InboundMessage) -> tuple[MessageKind, CaseRow | None]:
        """What the message is, and the case it belongs to (DESIGN.md: threading order)."""
        if msg.bounce:
            case_id = case_store.case_for_message_ids(conn, msg.bounced_message_ids)
            return MessageKind.BOUNCE, self._case(conn, case_id)
        case = self._thread(conn, msg)
        if msg.auto_reply:
            return MessageKind.AUTOMATIC, case
        if case is not None:
            return MessageKind.FOLLOW_UP, case
        return MessageKind.NEW, None

    def _thread(self, conn: Connection, msg: InboundMessage) -> CaseRow | None:
        """The case this mail continues: by our Message-IDs, then by tracking code; from a participant."""
        refs = (*msg.references, *((msg.in_reply_to,) if msg.in_reply_to else ()))
        case = self._case(conn, case_store.case_for_message_ids(conn, refs))
        if case is not None and is_participant(case, msg.sender.email):
            return case
        if msg.tracking_code:
            case = case_store.get_case(conn, code=msg.tracking_code)
            if case is not None and is_participant(case, msg.sender.email):
                return case
            if case is not None:
                # A code quoted by a stranger proves nothing (FINDINGS.md: Zammad): a new case of their own.
                log.info("tracking code from a non-participant ignored", quoted=case.code)
        return None

    @staticmethod
    def _case(conn: Connection, case_id: int | None) -> CaseRow | None:
        return None if case_id is None else case_store.get_case(conn, case_id=case_id)

    def _open_case(self, conn: Connection, receipt: Receipt, msg: InboundMessage, now: datetime) -> Outcome:
        code = new_code(self._prefix)
        decision = self._router(msg, receipt.channel, receipt.rcpt_tos, now) if self._router else None
        case_id = case_store.insert_case(
            conn,
            code=code,
            status=str(CaseStatus.ROUTED if decision and decision.contact else CaseStatus.NEW),
            channel=receipt.channel,
            created_at=now,
            updated_at=now,
            resident_email=msg.sender.email,
            resident_name=msg.sender.name,
            language=msg.language or "fi",
            subject=msg.subject,
            text=msg.text,
            message_id=msg.message_id,
            **decision_columns(decision),
        )
        with structlog.contextvars.bound_contextvars(case=code):
            event_id = case_store.insert_event(
                conn,
                case_id,
                EventKind.OPENED,
                now,
                actor=msg.sender.email,
                text=msg.text,
                receipt_id=receipt.id,
            )
            case_store.insert_attachments(conn, case_id, event_id, msg.attachments)
            if decision is not None:
                case_store.insert_event(
                    conn,
                    case_id,
                    EventKind.ROUTED,
                    now,
                    actor="rules",
                    text=f"{decision.department} ({decision.rule})",
                    data=decision_json(decision),
                )
                log.info(
                    "case routed",
                    department=decision.department,
                    rule=decision.rule,
                    reasons=decision.reasons,
                )
            case = case_store.get_case(conn, case_id=case_id)
            assert case is not None
            self._planner.plan_new_case(conn, case, msg, decision, now)
        return Outcome("new-case", case_id, code)

    def _add_to_case(
        self,
        conn: Connection,
        receipt: Receipt,
        msg: InboundMessage,
        kind: MessageKind,
        case: CaseRow,
        now: datetime,
    ) -> None:
        event = EventKind.FOLLOW_UP if kind is MessageKind.FOLLOW_UP else EventKind.AUTOMATIC
        event_id = case_store.insert_event(
            conn,
            case.id,
            event,
            now,
            actor=msg.sender.email,
            text=msg.reply_text or msg.text,
            receipt_id=receipt.id,
            data={"kind": str(kind), "subject": msg.subject},
        )
        if kind is MessageKind.FOLLOW_UP:
            case_store.insert_attachments(conn, case.id, event_id, msg.attachments)
            reopened = case.status in (CaseStatus.ANSWERED, CaseStatus.CLOSED, CaseStatus.WAITING)
            new_status = CaseStatus.ROUTED if reopened and case.department else case.status
            case_store.update_case(conn, case.id, status=str(new_status), updated_at=now)


def is_participant(case: CaseRow, email: str) -> bool:
    return bool(email) and email.lower() == case.resident_email.lower()


def decision_columns(decision: Decision | None) -> dict[str, object]:
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


def decision_json(decision: Decision) -> dict[str, object]:
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
    }
