"""What handlers do by mail: answer a case through its signed reply address, or send it elsewhere."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import Connection

from gateway.casework.commands import reroute_command
from gateway.casework.redact import redact_handler
from gateway.casework.reroute import reroute_case
from gateway.deadlines.plan import plan_deadlines
from gateway.errors import UnknownDepartment
from gateway.model import Attachment, Case, CaseStatus, EventKind, InboundMessage, MessageKind
from gateway.notifier.plan import Planner
from gateway.rules.live import LiveConfig
from gateway.store import cases as case_store

log = structlog.get_logger(__name__)


class StaffDesk:
    def __init__(self, live: LiveConfig, planner: Planner) -> None:
        self._live = live
        self._planner = planner

    def answer(
        self,
        conn: Connection,
        case: Case,
        msg: InboundMessage,
        receipt_id: int,
        now: datetime,
        why: str = "",
    ) -> str:
        """A handler's reply: a reroute command, or an answer that is recorded and relayed. Returns the
        outcome recorded on the receipt. *why* says on what grounds the sender may answer (classify)."""
        sender = msg.sender.email.lower()
        command = reroute_command(msg.reply_text)
        if command is not None:
            return self._reroute(conn, case, sender, command, receipt_id, now)
        if not redact_handler(msg.reply_text, sender, msg.sender.name, case.language).text:
            # Only quoted text (or only a signature): relaying msg.text would send the resident the whole
            # hand-over. Keep it for a person to look at instead.
            self.unverified(conn, case, msg, "an answer with no text of its own", receipt_id, now)
            return str(MessageKind.UNVERIFIED)
        self.record_answer(
            conn, case, msg.reply_text, msg.attachments, now,
            author=sender, author_name=msg.sender.name, accepted_as=why, receipt_id=receipt_id,
            subject=msg.subject,
        )  # fmt: skip
        return "answer"

    def record_answer(
        self,
        conn: Connection,
        case: Case,
        reply_text: str,
        attachments: tuple[Attachment, ...],
        now: datetime,
        *,
        author: str,
        author_name: str,
        accepted_as: str,
        receipt_id: int | None = None,
        subject: str = "",
    ) -> bool:
        """Record an answer on *case* and relay it to the resident, the handler's name and signature taken
        out (by mail, or from the console: issue 18 says it goes out exactly alike). Returns whether it
        was relayed (the per-case limit may hold it)."""
        redacted = redact_handler(reply_text, author, author_name, case.language)
        text = redacted.text
        # Who answered and what was taken out of it, for the people who look at the case (issue 15).
        data = {
            "subject": subject,
            "answered_by": author,
            "answered_by_name": author_name,
            "accepted_as": accepted_as,
            "redacted": list(redacted.removed),
        }
        event_id = case_store.insert_event(
            conn, case.id, EventKind.ANSWER, now, actor=author, text=text, receipt_id=receipt_id,
            data={**data, "relayed": False},
        )  # fmt: skip
        case_store.insert_attachments(conn, case.id, event_id, attachments)
        case_store.update_case(conn, case.id, status=str(CaseStatus.ANSWERED), updated_at=now)
        plan_deadlines(conn, case.id, now, self._live.current)  # the answer clock stops
        relayed = self._planner.plan_answer(conn, case, text, attachments, event_id, now)
        case_store.update_event_data(conn, event_id, {**data, "relayed": relayed is not None})
        log.info("case answered", case=case.code, relayed=relayed is not None)
        return relayed is not None

    def _reroute(
        self,
        conn: Connection,
        case: Case,
        sender: str,
        command: tuple[str, str],
        receipt_id: int,
        now: datetime,
    ) -> str:
        department, why = command
        try:
            reroute_case(
                conn, self._live.current, self._planner, case, department, actor=sender, why=why, now=now
            )
        except UnknownDepartment:
            event_id = case_store.insert_event(
                conn, case.id, EventKind.NOTE, now, actor=sender, receipt_id=receipt_id,
                text=f"reroute to unknown department {department!r} refused",
            )  # fmt: skip
            known = self._live.department_keys()
            self._planner.plan_reroute_refused(conn, case, sender, department, known, event_id, now)
            return "reroute-refused"
        return "rerouted"

    def unverified(
        self, conn: Connection, case: Case, msg: InboundMessage, why: str, receipt_id: int, now: datetime
    ) -> None:
        """Keep a reply that is not a valid answer on the case, and tell its sender once how to answer."""
        event_id = case_store.insert_event(
            conn, case.id, EventKind.UNVERIFIED, now, actor=msg.sender.email, text=msg.reply_text or msg.text,
            receipt_id=receipt_id, data={"why": why, "subject": msg.subject},
        )  # fmt: skip
        case_store.insert_attachments(conn, case.id, event_id, msg.attachments)
        log.warning("reply not taken as an answer", case=case.code, sender=msg.sender.email, why=why)
        self._planner.plan_how_to_answer(conn, case, msg.sender.email.lower(), now)
