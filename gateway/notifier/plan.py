"""What mail a case owes: the outbox rows that follow from an event, written in the event's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection

from gateway.mail.authres import authenticated
from gateway.mail.automatic import receipt_withheld
from gateway.model import Address, Attachment, Case, Channel, Decision, InboundMessage
from gateway.notifier.compose import Identity, message_id_for, threadable
from gateway.notifier.handover import Handover, forward_values, local_time, webhook_document
from gateway.notifier.outbound import HANDOVER_KINDS, Directory, Mail, Outbound
from gateway.notifier.reply_address import reply_address
from gateway.notifier.wording import greeting, word
from gateway.store import cases as case_store
from gateway.store import intake_rates, outbox

log = structlog.get_logger(__name__)

ROLE_ADDRESS_RULE = (
    "role-address"  # the routing of mail to postmaster@, abuse@ (gateway.runtime.daemon.make_router)
)


class Planner:
    """Writes the outbox rows for a case event; never sends anything itself (DESIGN.md: step 5).

    Every mail goes through `Outbound` (gateway/notifier/outbound.py): its guard, then the outbox. Nobody
    who was only in Cc is ever written to: notices go to the case's resident or to staff.
    """

    def __init__(
        self,
        outbound: Outbound,
        directory: Directory,
        *,
        staff_language: str = "fi",
        new_cases_per_sender_per_hour: int = 0,
        new_cases_per_client_per_hour: int = 0,
        trusted_authserv_id: str = "",
        web_url: str = "",
    ) -> None:
        self._out = outbound
        self._web_url = web_url.rstrip("/")  # the tracking page's links in receipts (issue 17)
        self._identity = outbound.identity
        self._directory = directory
        self._new_per_sender = new_cases_per_sender_per_hour
        self._new_per_client = new_cases_per_client_per_hour
        self._trusted_authserv_id = trusted_authserv_id
        self._staff_language = staff_language

    @property
    def identity(self) -> Identity:
        return self._identity

    def reply_address(self, code: str, department: str | None) -> str:
        """The signed address *department*'s staff answer case *code* through: the token is bound to the
        department, so a reroute rotates it (issue 15)."""
        return reply_address(self._identity.address, code, department or "", self._identity.secret)

    def may_answer(self, address: str) -> bool:
        """Whether *address* may receive mail from us at all (RFC 3834 section 2)."""
        return self._out.may_answer(address)

    def compose(self, mail: Mail, now: datetime) -> bytes:
        """Render and compose *mail*: pure work, done before the transaction where it can be (intake)."""
        return self._out.compose(mail, now)

    def _send(
        self,
        conn: Connection,
        mail: Mail,
        case_id: int | None,
        now: datetime,
        *,
        new_case: bool = False,
        composed: Mapping[str, bytes] | None = None,
    ) -> str | None:
        return self._out.send(conn, mail, case_id, now, new_case=new_case, composed=composed)

    # -- to the resident ------------------------------------------------------------------------

    def _receipt(self, case: Case, msg: InboundMessage) -> Mail | None:
        """The receipt a new case owes its resident; none for automatic mail and bounces."""
        if receipt_withheld(msg) is not None:  # intake records why on the case (issue 15)
            return None
        if case.decision is not None and case.decision.rule == ROLE_ADDRESS_RULE:  # postmaster@ (0025)
            return None
        # Backscatter (issue 15): a stranger's subject ("CHEAP PILLS http://...") is echoed only to a sender
        # our own mail server authenticated (a DKIM or DMARC pass for the From domain, RFC 8601).
        trusted = self._trusted_authserv_id
        echo = bool(trusted) and authenticated(msg.authentication_results, trusted, msg.sender.email)
        # RFC 3834 3.3: an automatic response goes out with a null reverse-path (mail_from "").
        return Mail(
            key=f"receipt:{case.code}",
            kind="receipt",
            to=Address(case.resident_email, case.resident_name),
            template="receipt",
            language=case.language,
            values={
                "code": case.code,
                "subject": msg.subject if echo else "",
                "track_url": f"{self._web_url}/track/{case.code}" if self._web_url else "",
            },
            in_reply_to=msg.message_id,
            references=msg.references,
        )

    def compose_new_case(
        self, case: Case, msg: InboundMessage, decision: Decision | None, now: datetime
    ) -> dict[str, bytes]:
        """The mail `plan_new_case` would compose for *case*, by dedupe key: pure work that intake does
        before its transaction, so that SQLite's write lock is not held for it (decision 0016)."""
        mails = [self._receipt(case, msg)]
        if decision is not None:
            mails.append(self._forward(self._handover(case, decision, msg.text, msg.attachments), "new"))
        return {mail.key: self.compose(mail, now) for mail in mails if mail is not None}

    def plan_new_case(
        self,
        conn: Connection,
        case: Case,
        msg: InboundMessage,
        decision: Decision | None,
        now: datetime,
        composed: Mapping[str, bytes] | None = None,
        peer: str = "",
    ) -> str | None:
        """Queue a new case's receipt and hand-over; *composed* holds what `compose_new_case` made.
        Returns why the receipt was not sent when a limit of new cases held it back (else None)."""
        receipt = self._receipt(case, msg)
        held = self._new_case_limit(conn, case, peer, now) if receipt is not None else None
        if held is not None:
            log.info("mail held back", kind="receipt", to=case.resident_email, reason=held)
        elif receipt is not None:
            # Nothing went out on the case yet: no need to count per case.
            self._send(conn, receipt, case.id, now, new_case=True, composed=composed)
        if decision is not None:
            self.plan_handover(conn, case, decision, msg.text, msg.attachments, now, "new", composed)
        return held

    def _new_case_limit(self, conn: Connection, case: Case, peer: str, now: datetime) -> str | None:
        """Why a new case gets no receipt: its sender, or its SMTP client, opened too many cases in the
        last hour (issue 15: amplification). The case itself is kept and handed over all the same."""
        hour_ago = now - timedelta(hours=1)
        sender = case.resident_email
        per_sender, per_client = self._new_per_sender, self._new_per_client
        if per_sender and sender and intake_rates.new_cases_from_sender(conn, sender, hour_ago) > per_sender:
            return f"more than {per_sender} new cases from this sender in an hour"
        if (
            per_client
            and peer
            and case.channel is Channel.SMTP
            and intake_rates.new_cases_from_client(conn, peer, hour_ago) >= per_client
        ):
            return f"more than {per_client} new cases from this client address in an hour"
        return None

    def _thread_of(self, case: Case) -> str:
        """The mail our answer replies to: the resident's own, or, when they sent none we could name (a
        web form, an app, a call entered by staff), our receipt to them, the first mail of their thread."""
        if case.message_id and threadable(case.message_id):
            return case.message_id
        return message_id_for(f"receipt:{case.code}", self._identity.domain, self._identity.secret)

    def plan_answer(
        self,
        conn: Connection,
        case: Case,
        text: str,
        attachments: tuple[Attachment, ...],
        event_id: int,
        now: datetime,
    ) -> str | None:
        """Relay a handler's answer to the resident, from the city's address, threaded to their mail."""
        return self._send(
            conn,
            Mail(
                key=f"answer:{case.code}:{event_id}",
                kind="answer",
                to=Address(case.resident_email, case.resident_name),
                template="answer",
                language=case.language,
                values={
                    "code": case.code,
                    "subject": case.subject or "-",
                    "answer": text.strip(),
                    "greeting": greeting(text, case.language),
                    "department": self._directory.department_name(case.department or "", case.language),
                },
                automatic=False,
                in_reply_to=self._thread_of(case),
                attachments=attachments,
                mail_from=self._identity.address,
            ),
            case.id,
            now,
        )

    # -- to staff -------------------------------------------------------------------------------

    def _handover(
        self, case: Case, decision: Decision, text: str, attachments: tuple[Attachment, ...]
    ) -> Handover:
        return Handover(
            case=case,
            decision=decision,
            department_name=self._directory.department_name(decision.department, self._staff_language),
            text=text,
            attachments=attachments,
            reply_to=self.reply_address(case.code, decision.department),
            timezone=self._directory.timezone,
            language=self._staff_language,
            topic=self._directory.category_name(case.category, self._staff_language) if case.category else "",
        )

    def _forward(self, handover: Handover, occasion: str) -> Mail | None:
        """The hand-over mail to the contact on duty; none when the decision names no contact."""
        if not handover.decision.contact:
            return None
        return Mail(
            key=f"forward:{handover.case.code}:{occasion}",
            kind="forward",
            to=Address(handover.decision.contact),
            template="forward",
            language=self._staff_language,
            values=forward_values(handover),
            reply_to=handover.reply_to,
            attachments=handover.attachments,
            mail_from=self._identity.address,  # so that a handler's bounce comes back to us
        )

    def plan_handover(
        self,
        conn: Connection,
        case: Case,
        decision: Decision,
        text: str,
        attachments: tuple[Attachment, ...],
        now: datetime,
        occasion: str,
        composed: Mapping[str, bytes] | None = None,
    ) -> None:
        """Forward the case by mail to the contact on duty, and POST it to the department's webhook.

        *occasion* tells one hand-over of a case from another ("new", "reroute-<event id>") so that each
        has its own dedupe key and Message-ID.
        """
        handover = self._handover(case, decision, text, attachments)
        forward = self._forward(handover, occasion)
        if forward is not None:
            self._send(conn, forward, case.id, now, composed=composed)
        if decision.webhook:
            key = f"webhook:{case.code}:{occasion}"
            document = webhook_document(handover, "case.new" if occasion == "new" else "case.rerouted")
            outbox.enqueue(
                conn,
                outbox.OutboundItem(key, "webhook", decision.webhook, document, case.id, "webhook", "", key),
                now,
            )

    def plan_follow_up(
        self,
        conn: Connection,
        case: Case,
        text: str,
        attachments: tuple[Attachment, ...],
        event_id: int,
        now: datetime,
    ) -> None:
        """Pass a resident's follow-up to whoever handles the case now, threaded to the hand-over.

        The status and due time are read now, in this transaction: the caller's row predates the reopen
        that this very follow-up caused (issue 15: the notice showed "answered" and the old due time)."""
        case = case_store.get_case(conn, case_id=case.id) or case
        contact = self._directory.contact_at(case.department, now) if case.department else None
        if contact is None:
            return
        forward = outbox.latest_message_id(conn, case.id, HANDOVER_KINDS)
        self._send(
            conn,
            Mail(
                key=f"follow-up:{case.code}:{event_id}",
                kind="follow-up",
                to=Address(contact),
                template="follow_up",
                language=self._staff_language,
                values={
                    "code": case.code,
                    "subject": case.subject or "-",
                    "text": text.strip(),
                    "status": word("status", case.status, self._staff_language),
                    "due": local_time(case.due_at, self._directory.timezone),
                },
                in_reply_to=forward,
                references=(forward,) if forward else (),
                reply_to=self.reply_address(case.code, case.department),
                attachments=attachments,
                mail_from=self._identity.address,
            ),
            case.id,
            now,
        )

    def plan_how_to_answer(self, conn: Connection, case: Case, sender: str, now: datetime) -> None:
        """Tell someone whose reply was not taken as an answer how to answer: once per case and sender."""
        self._send(
            conn,
            Mail(
                key=f"how-to-answer:{case.code}:{sender}",
                kind="how-to-answer",
                to=Address(sender),
                template="how_to_answer",
                language=self._staff_language,
                # No subject: anyone can write to palaute+<code>.<anything>; the code is all they knew.
                values={"code": case.code},
            ),
            case.id,
            now,
        )

    def plan_reroute_refused(
        self,
        conn: Connection,
        case: Case,
        sender: str,
        department: str,
        known: tuple[str, ...],
        event_id: int,
        now: datetime,
    ) -> None:
        self._send(
            conn,
            Mail(
                key=f"reroute-refused:{case.code}:{event_id}",
                kind="reroute-refused",
                to=Address(sender),
                template="reroute_refused",
                language=self._staff_language,
                values={"code": case.code, "department": department, "known": ", ".join(known)},
                reply_to=self.reply_address(case.code, case.department),
            ),
            case.id,
            now,
        )

    def plan_handler_bounced(
        self, conn: Connection, case: Case, address: str, reason: str, now: datetime
    ) -> None:
        """A handler's address bounces: nobody is getting the case. Operations must hear of it."""
        to = self._directory.escalation(case.department) if case.department else None
        log.error("a handler's address bounced", case=case.code, address=address, escalation=to)
        if to is None or to == address:
            return
        self._send(
            conn,
            Mail(
                key=f"handler-bounced:{case.code}:{address}",
                kind="alarm",
                to=Address(to),
                template="handler_bounced",
                language=self._staff_language,
                values={
                    "code": case.code,
                    "address": address,
                    "reason": reason,
                    "department": case.department or "-",
                },
            ),
            case.id,
            now,
        )
