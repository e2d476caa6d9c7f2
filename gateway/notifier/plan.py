"""What mail a case owes: the outbox rows that follow from an event, written in the event's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Connection

from gateway.model import Address, Attachment, Decision, InboundMessage
from gateway.notifier.compose import Identity, compose, message_id_for
from gateway.notifier.handover import Handover, forward_values, webhook_document
from gateway.notifier.reply_address import reply_address
from gateway.notifier.templates import Templates
from gateway.store import cases as case_store
from gateway.store import outbox
from gateway.store.cases import CaseRow

log = structlog.get_logger(__name__)

# Addresses that must never get automatic mail from us (RFC 3834 section 2; peers looped on these).
NEVER_ANSWER = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply", "bounce", "bounces"}
)


def may_answer(address: str, is_city_address: Callable[[str], bool]) -> bool:
    """Whether *address* may receive automatic mail from us at all."""
    local, _, domain = address.lower().rpartition("@")
    if not local or not domain or is_city_address(address):
        return False
    return local.split("+", 1)[0] not in NEVER_ANSWER


class Directory(Protocol):
    """What the planner needs to know of the configuration in force."""

    @property
    def timezone(self) -> ZoneInfo: ...

    def department_name(self, key: str, language: str) -> str: ...

    def is_city_address(self, address: str) -> bool: ...


class Planner:
    """Writes the outbox rows for a case event; never sends anything itself (DESIGN.md: step 5)."""

    def __init__(
        self,
        templates: Templates,
        identity: Identity,
        directory: Directory,
        receipts_per_hour: int = 5,
        staff_language: str = "fi",
    ) -> None:
        self._templates = templates
        self._identity = identity
        self._directory = directory
        self._is_city_address: Callable[[str], bool] = directory.is_city_address
        self._receipts_per_hour = receipts_per_hour
        self._staff_language = staff_language

    def reply_address(self, code: str) -> str:
        return reply_address(self._identity.address, code, self._identity.secret)

    def plan_new_case(
        self, conn: Connection, case: CaseRow, msg: InboundMessage, decision: Decision | None, now: datetime
    ) -> None:
        self._receipt(conn, case, msg, now)
        if decision is not None:
            self.plan_handover(conn, case, decision, msg.text, msg.attachments, now, "new")

    def plan_handover(
        self,
        conn: Connection,
        case: CaseRow,
        decision: Decision,
        text: str,
        attachments: tuple[Attachment, ...],
        now: datetime,
        occasion: str,
    ) -> None:
        """Forward the case by mail to the contact on duty, and POST it to the department's webhook.

        *occasion* tells one hand-over of a case from another ("new", "reroute-<event id>") so that each
        has its own dedupe key and Message-ID.
        """
        handover = Handover(
            case=case,
            decision=decision,
            department_name=self._directory.department_name(decision.department, self._staff_language),
            text=text,
            attachments=attachments,
            reply_to=self.reply_address(case.code),
            timezone=self._directory.timezone,
        )
        if decision.contact:
            key = f"forward:{case.code}:{occasion}"
            message_id = message_id_for(key, self._identity.domain)
            rendered = self._templates.render("forward", self._staff_language, **forward_values(handover))
            body = compose(
                self._identity,
                to=Address(decision.contact),
                subject=rendered.subject,
                body=rendered.body,
                message_id=message_id,
                date=now,
                auto_submitted="auto-generated",
                reply_to=handover.reply_to,
                language=self._staff_language,
                attachments=attachments,
            )
            # Sent from the city's address, so that a handler's bounce comes back to us (issue 4).
            item = outbox.OutboundItem(
                key, "forward", decision.contact, body, case.id, "mail", self._identity.address, message_id
            )
            if outbox.enqueue(conn, item, now):
                case_store.remember_message_id(conn, message_id, case.id, "out")
        if decision.webhook:
            key = f"webhook:{case.code}:{occasion}"
            document = webhook_document(handover, "case.new" if occasion == "new" else "case.rerouted")
            outbox.enqueue(
                conn,
                outbox.OutboundItem(key, "webhook", decision.webhook, document, case.id, "webhook", "", key),
                now,
            )

    def _receipt(self, conn: Connection, case: CaseRow, msg: InboundMessage, now: datetime) -> None:
        """Acknowledge new feedback to the resident, in their language, threaded to their mail."""
        to = msg.sender.email
        if msg.auto_reply or msg.bounce or not may_answer(to, self._is_city_address):
            log.info("no receipt: automatic mail or an address we never answer", to=to)
            return
        sent = outbox.count_recent(conn, to, "receipt", now - timedelta(hours=1))
        if sent >= self._receipts_per_hour:
            log.warning("no receipt: rate limit reached", to=to, sent_last_hour=sent)
            return
        key = f"receipt:{case.code}"
        message_id = message_id_for(key, self._identity.domain)
        rendered = self._templates.render("receipt", case.language, code=case.code, subject=msg.subject)
        body = compose(
            self._identity,
            to=Address(to, msg.sender.name),
            subject=rendered.subject.rstrip(": "),
            body=rendered.body,
            message_id=message_id,
            date=now,
            in_reply_to=msg.message_id,
            references=msg.references,
            language=case.language,
        )
        # RFC 3834 3.3: an automatic response goes out with a null reverse-path.
        item = outbox.OutboundItem(key, "receipt", to, body, case.id, "mail", "", message_id)
        if outbox.enqueue(conn, item, now):
            case_store.remember_message_id(conn, message_id, case.id, "out")
