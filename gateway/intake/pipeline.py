"""The one pipeline every channel feeds: receipt → normalise → classify → route → persist and plan."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import Connection

from gateway.casework.answers import StaffDesk
from gateway.deadlines.plan import plan_deadlines
from gateway.errors import Conflict, LeaseLost, StorageError
from gateway.intake.classify import Classifier
from gateway.intake.parsers import ParsedStream, ParserPool
from gateway.mail.automatic import receipt_withheld
from gateway.model import Case, CaseStatus, Channel, Decision, EventKind, InboundMessage, MessageKind, NewCase
from gateway.model.tracking_code import new_code
from gateway.notifier.bounce_address import signed_bounce
from gateway.notifier.compose import is_our_loop_marker
from gateway.notifier.outbound import HANDOVER_KINDS
from gateway.notifier.plan import Planner
from gateway.rules import Config
from gateway.store import cases as case_store
from gateway.store import outbox
from gateway.store import receipts as receipt_store
from gateway.store.cases import NewEvent
from gateway.store.codec import decision_json
from gateway.store.db import Database, savepoint
from gateway.store.receipts import Receipt

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
# Messages whose new case is worked out ahead of the transaction that settles them (decision 0016); a
# transaction settles only those, so that this many composed mails at most wait in memory.
PREPARE_AHEAD = 16


class Router(Protocol):
    """Decides where a new case goes; the daemon builds it from the current rules (issue 3)."""

    def __call__(
        self, msg: InboundMessage, channel: Channel, rcpt_tos: tuple[str, ...], now: datetime
    ) -> Decision | None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # new-case, follow-up, duplicate, automatic, bounce, loop
    case_id: int | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a message that looks like new feedback needs if it opens a case, worked out before the
    transaction (decision 0016): its moment, its case's columns (a fresh code, the routing decision) and
    its receipt and hand-over mail, composed. Used only if the message turns out to open a case."""

    now: datetime
    case: NewCase
    composed: dict[str, bytes]


class Intake:
    """Turns committed receipts into cases, each exactly once, on any number of workers and nodes."""

    def __init__(
        self,
        db: Database,
        planner: Planner,
        classifier: Classifier,
        staff: StaffDesk,
        router: Router | None,
        clock: Callable[[], datetime],
        owner: str,
        config: Callable[[], Config],
        code_prefix: str = "HEL",
        lease: timedelta = timedelta(seconds=60),
        commit_after: timedelta = timedelta(milliseconds=10),
        parsers: ParserPool | None = None,
    ) -> None:
        self._db = db
        self._planner = planner
        self._classifier = classifier
        self._staff = staff
        self._router = router
        self._clock = clock
        self._owner = owner
        self._prefix = code_prefix
        self._config = config
        self._lease = lease
        self._commit_after = commit_after.total_seconds()
        self._ahead: tuple[list[Receipt], ParsedStream] | None = None  # the next round, being parsed
        self._parsers = parsers or ParserPool(0, code_prefix)

    async def run_once_async(self, limit: int = 64) -> int:
        """`run_once` off the event loop: parsing and the database are blocking work."""
        return await asyncio.to_thread(self.run_once, limit)

    def run_once(self, limit: int = 64) -> int:
        """Process up to *limit* pending receipts; return how many were claimed."""
        if self._ahead is not None:
            (batch, stream), self._ahead = self._ahead, None
        else:
            batch = receipt_store.claim_pending(self._db, self._owner, limit, self._clock(), self._lease)
            if not batch:
                return 0
            # Parsed outside any transaction, the slow part; with parser processes, the next chunks are
            # parsed there while this thread settles the first ones.
            stream = self._parsers.parse(batch)
        if self._parsers.parallel and len(batch) == limit:
            # A full round: more is waiting. The next round is claimed and handed to the parsers before
            # this one is settled, so that this thread does not wait for its first chunk. It is settled
            # by the next call (a drain calls until nothing is claimed); its lease covers the wait. Below
            # saturation rounds are small and a second claim would only take the write lock once more.
            ahead = receipt_store.claim_pending(self._db, self._owner, limit, self._clock(), self._lease)
            if ahead:
                self._ahead = (ahead, self._parsers.parse(ahead))
        parsed: list[tuple[Receipt, InboundMessage | str]] = []
        prepared: dict[int, Prepared | None] = {}
        while parsed or (parsed := stream.wait()):
            parsed.extend(stream.ready())
            for receipt, msg in parsed[:PREPARE_AHEAD]:  # outside the transaction: no lock waits for it
                if receipt.id not in prepared:
                    prepared[receipt.id] = self._prepare(receipt, msg)
            try:
                parsed = self._settle_some(parsed, prepared)
                self._db.turns.wait_lowered(at_most=0.005)  # let the waiting receipt take the lock
            except Exception as exc:
                # Something in this transaction failed: it is rolled back; settle its messages one at a
                # time, each in a savepoint of its own, so that only the culprit is parked (or retried, or
                # raised if the database itself is down). Savepoints cost two statements a message. What
                # was prepared is not used: a code that collided gets another one here.
                log.info("batch failed; settling one message at a time", error=f"{type(exc).__name__}: {exc}")
                with self._db.write(durable=False) as conn:
                    for receipt, msg in parsed:
                        self._settle(conn, receipt, msg)
                parsed = []
        return len(batch)

    def _prepare(self, receipt: Receipt, msg: InboundMessage | str) -> Prepared | None:
        """The new case *msg* would open, worked out now; None for mail that will not open one or that
        likely belongs to a case already (it names one or answers a thread): that is settled as before.
        Never raises: a failure here is met again, and handled, in the transaction."""
        if isinstance(msg, str) or msg.auto_reply or msg.bounce or msg.loop_marker:
            return None
        if msg.tracking_code or msg.in_reply_to:
            return None
        try:
            now = self._clock()
            new = self._new_case(receipt, msg, now)
            composed = self._planner.compose_new_case(case_store.case_to_be(new), msg, new.decision, now)
        except Exception as exc:  # the transaction does the same work, and parks the message if it fails
            log.debug("could not prepare a case", receipt=receipt.id, error=repr(exc))
            return None
        return Prepared(now, new, composed)

    def _new_case(self, receipt: Receipt, msg: InboundMessage, now: datetime) -> NewCase:
        """The case *msg* opens, with a fresh code and its routing decision."""
        decision = self._router(msg, receipt.channel, receipt.rcpt_tos, now) if self._router else None
        return NewCase(
            # a submission's code was drawn before its receipt was stored, and shown (issue 17)
            code=receipt.tracking_code or new_code(self._prefix),
            channel=receipt.channel,
            created_at=now,
            resident_email=msg.sender.email,
            resident_name=msg.sender.name,
            language=msg.language or "fi",
            subject=msg.subject,
            text=msg.text,
            message_id=msg.message_id,
            decision=decision,
            category=msg.category,
            location=msg.location,
            address=msg.address,
            resident_phone=msg.phone,
            publish_consent=msg.publish_consent,
        )

    def start(self) -> None:
        """Start the parser processes (they would start with the first round otherwise)."""
        self._parsers.start()

    def close(self) -> None:
        """Stop the parser processes."""
        self._parsers.close()

    def _settle_some(
        self,
        parsed: list[tuple[Receipt, InboundMessage | str]],
        prepared: dict[int, Prepared | None],
    ) -> list[tuple[Receipt, InboundMessage | str]]:
        """The fast path: settle messages in one transaction without savepoints, and commit once it has
        been open `commit_after` (SQLite's writers take turns) or no message looked at by `_prepare` is
        left to settle; return the messages left. Raises on any failure, and then nothing of this
        transaction is kept, and *parsed* holds every message it took."""
        done: list[tuple[int, Outcome, str]] = []
        started = time.monotonic()
        with self._db.write(durable=False) as conn:
            while len(done) < len(parsed) and parsed[len(done)][0].id in prepared:
                if done and (time.monotonic() - started > self._commit_after or self._db.turns.is_up()):
                    break  # SQLite's writers take turns; a sender's receipt waiting goes first (0015)
                receipt, msg = parsed[len(done)]
                ready = prepared.get(receipt.id)
                now = ready.now if ready is not None else self._clock()
                if isinstance(msg, str):
                    raise ValueError("a message could not be normalised")
                with structlog.contextvars.bound_contextvars(receipt=receipt.id):
                    outcome = self._handle(conn, receipt, msg, now, ready)
                finished = receipt_store.finish(
                    conn,
                    receipt.id,
                    self._owner,
                    outcome=outcome.kind,
                    now=now,
                    message_id=msg.message_id,
                    case_id=outcome.case_id,
                )
                if not finished:
                    raise LeaseLost
                done.append((receipt.id, outcome, msg.message_id))
        for receipt_id, outcome, message_id in done:  # only after the commit
            prepared.pop(receipt_id, None)
            log.info(
                "receipt processed",
                receipt=receipt_id,
                case=outcome.code,
                outcome=outcome.kind,
                message_id=message_id,
            )
        return parsed[len(done) :]

    def _settle(self, conn: Connection, receipt: Receipt, msg: InboundMessage | str) -> None:
        now = self._clock()
        with structlog.contextvars.bound_contextvars(receipt=receipt.id):
            if isinstance(msg, str):
                log.error("receipt parked: normalising failed", error=msg.strip().splitlines()[-1])
                receipt_store.park(conn, receipt.id, msg, now)
                return
            try:
                with savepoint(conn):
                    outcome = self._handle(conn, receipt, msg, now, None)
                    if not receipt_store.finish(
                        conn,
                        receipt.id,
                        self._owner,
                        outcome=outcome.kind,
                        now=now,
                        message_id=msg.message_id,
                        case_id=outcome.case_id,
                    ):
                        raise LeaseLost
            except LeaseLost:
                log.info("receipt taken over by another worker")
            except Conflict as exc:
                # A race with another node (the same Message-ID, a code collision): retry after the lease.
                if receipt.attempts >= MAX_ATTEMPTS:
                    receipt_store.park(
                        conn, receipt.id, f"gave up after {receipt.attempts} attempts: {exc}", now
                    )
                log.warning("receipt will be retried", error=str(exc).splitlines()[0])
            except StorageError:
                raise  # the database itself failed: the whole batch is retried after the lease
            except Exception:
                error = traceback.format_exc(limit=8)
                log.error("receipt parked", error=error.strip().splitlines()[-1])
                receipt_store.park(conn, receipt.id, error, now)
            else:
                with structlog.contextvars.bound_contextvars(case=outcome.code):
                    log.info("receipt processed", outcome=outcome.kind, message_id=msg.message_id)

    def _handle(
        self, conn: Connection, receipt: Receipt, msg: InboundMessage, now: datetime, ready: Prepared | None
    ) -> Outcome:
        if msg.loop_marker and is_our_loop_marker(self._planner.identity, msg.message_id, msg.loop_marker):
            log.warning("our own mail came back; dropped", message_id=msg.message_id)
            return Outcome(str(MessageKind.LOOP))
        seen, seen_case = case_store.seen_message_id(conn, msg.message_id)
        if seen:
            return Outcome("duplicate", seen_case)
        found = self._classifier.classify(conn, msg, receipt.rcpt_tos, receipt.mail_from)
        case = found.case
        if found.kind is MessageKind.NEW:
            outcome = self._open_case(conn, receipt, msg, now, ready)
        elif case is None:  # automatic mail or a bounce that belongs to no case: kept in the receipt only
            outcome = Outcome(str(found.kind))
        else:
            with structlog.contextvars.bound_contextvars(case=case.code):
                kind = self._continue_case(conn, receipt, msg, found.kind, found.why, case, now)
            outcome = Outcome(kind, case.id, case.code)
        case_store.remember_message_id(conn, msg.message_id, outcome.case_id, "in", receipt.id)
        return outcome

    def _continue_case(
        self,
        conn: Connection,
        receipt: Receipt,
        msg: InboundMessage,
        kind: MessageKind,
        why: str,
        case: Case,
        now: datetime,
    ) -> str:
        """Add *msg* to its case as what classify() found it to be; return the receipt's outcome."""
        if kind is MessageKind.ANSWER:
            return self._staff.answer(conn, case, msg, receipt.id, now, why)
        if kind is MessageKind.UNVERIFIED:
            self._staff.unverified(conn, case, msg, why, receipt.id, now)
            return str(kind)
        if kind is MessageKind.FOLLOW_UP:
            text = msg.reply_text or msg.text
            event_id = case_store.insert_event(
                conn, case.id, EventKind.FOLLOW_UP, now, actor=msg.sender.email, text=text,
                receipt_id=receipt.id, data={"subject": msg.subject},
            )  # fmt: skip
            case_store.insert_attachments(conn, case.id, event_id, msg.attachments)
            reopened = case.status in (CaseStatus.ANSWERED, CaseStatus.CLOSED, CaseStatus.WAITING)
            new_status = CaseStatus.ROUTED if reopened and case.department else case.status
            case_store.update_case(conn, case.id, status=str(new_status), updated_at=now)
            if new_status != case.status:  # a reopened case's clock restarts; an open one's runs on
                plan_deadlines(conn, case.id, now, self._config())
            self._planner.plan_follow_up(conn, case, text, msg.attachments, event_id, now)
            return str(kind)
        data: dict[str, object] = {"kind": str(kind), "subject": msg.subject, "why": why}
        if kind is MessageKind.BOUNCE:
            data["bounced"] = self._bounced(conn, receipt, case, msg, now)
        case_store.insert_event(
            conn, case.id, EventKind.AUTOMATIC, now, actor=msg.sender.email, text=msg.text[:4000],
            receipt_id=receipt.id, data=data,
        )  # fmt: skip
        return str(kind)

    def _bounced(
        self, conn: Connection, receipt: Receipt, case: Case, msg: InboundMessage, now: datetime
    ) -> list[str]:
        """Mark the mail a bounce returns; a handler's address that bounces is an alarm for operations."""
        reason = msg.reply_text.strip()[:500] or msg.subject
        signed = signed_bounce(receipt.rcpt_tos, receipt.mail_from, self._planner.identity.secret)
        if signed is None:  # a report anyone could write (issue 15): it marks nothing
            log.warning("a delivery report we did not sign; not believed", sender=msg.sender.email)
            return []
        found = outbox.mark_bounced_row(conn, signed, msg.bounced_recipients, reason, now)
        if found is None:
            log.warning("a bounce names another recipient than its mail's; not believed", outbox_id=signed)
            return []
        returned = [found]
        for address, kind in returned:
            log.warning("mail bounced; the address is unreachable for a while", to=address, kind=kind)
            if kind in HANDOVER_KINDS:
                self._planner.plan_handler_bounced(conn, case, address, reason, now)
        return [address for address, _ in returned]

    @staticmethod
    def _case(conn: Connection, case_id: int | None) -> Case | None:
        return None if case_id is None else case_store.get_case(conn, case_id=case_id)

    def _open_case(
        self, conn: Connection, receipt: Receipt, msg: InboundMessage, now: datetime, ready: Prepared | None
    ) -> Outcome:
        if ready is not None:  # worked out before the transaction, at *now*
            new, composed = ready.case, ready.composed
        else:
            new, composed = self._new_case(receipt, msg, now), {}
        decision = new.decision
        case = case_store.create_case(conn, new)
        code = case.code
        case_id = case.id
        with structlog.contextvars.bound_contextvars(case=code):
            # issue 18: a call or a visit says who entered it and where
            entered = {"entered_by": msg.entered_by, "desk": msg.desk} if msg.entered_by else None
            events = [
                NewEvent(
                    EventKind.OPENED,
                    actor=msg.sender.email,
                    text=msg.text,
                    receipt_id=receipt.id,
                    data=entered,
                )
            ]
            if (withheld := receipt_withheld(msg)) is not None:  # issue 15: say why on the case
                events.append(NewEvent(EventKind.NOTE, actor="gateway", text=f"no receipt sent: {withheld}"))
            if decision is not None:
                text = f"{decision.department} ({decision.rule})"
                events.append(
                    NewEvent(EventKind.ROUTED, actor="rules", text=text, data=decision_json(decision))
                )
            event_id = case_store.insert_events(conn, case_id, now, events)[EventKind.OPENED]  # one statement
            case_store.insert_attachments(conn, case_id, event_id, msg.attachments)
            if decision is not None:
                log.info(
                    "case routed",
                    department=decision.department,
                    rule=decision.rule,
                    reasons=decision.reasons,
                )
            # Its due times are stored with the decision; the reminder, interim and alarm tasks are planned
            # by the deadline worker's sweep within a round: planning them here cost 3 ms a message on the
            # hot path (docs/decisions/0006-deadlines.md).
            held = self._planner.plan_new_case(conn, case, msg, decision, now, composed, receipt.peer)
            if held is not None:  # kept and handed over; only the receipt is not sent (issue 15)
                case_store.insert_event(
                    conn, case_id, EventKind.NOTE, now, actor="gateway", text=f"no receipt: {held}"
                )
        return Outcome("new-case", case_id, code)
