"""Classify and thread: what an inbound message is and which case it belongs to (DESIGN.md, step 3).

Threading tries, in order: the signed reply token in a recipient plus-address, our own Message-IDs in
In-Reply-To/References, then the tracking code (subject or plus-address) accepted only from a participant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection

from gateway.mail.authres import authenticated
from gateway.model import AutoReplySignal, Case, InboundMessage, MessageKind
from gateway.model.tracking_code import find_code
from gateway.notifier.bounce_address import signed_bounce
from gateway.notifier.reply_address import reply_parts, token_matches
from gateway.store import cases as case_store
from gateway.store import outbox

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Classified:
    kind: MessageKind
    case: Case | None
    why: str


class Classifier:
    def __init__(
        self,
        secret: str,
        prefix: str,
        handlers: Callable[[Connection, Case], frozenset[str]],
        staff_domains: Callable[[Case], frozenset[str]] = lambda case: frozenset(),
        trusted_authserv_id: str = "",
    ) -> None:
        self._secret = secret
        self._prefix = prefix
        self._handlers = handlers
        self._staff_domains = staff_domains
        self._trusted_authserv_id = trusted_authserv_id

    def may_answer(self, conn: Connection, case: Case, msg: InboundMessage) -> str | None:
        """Why the sender of *msg*, who used the case's valid reply token, may answer it; None if not.

        Issue 15: the token proves the sender got the hand-over, but a forwarded or leaked one must not
        let a stranger speak in the city's name. So the sender is the department's listed contact or at
        one of the city's staff domains, and, when our mail server reports Authentication-Results, it
        saw a DKIM or DMARC pass for that domain (RFC 8601): a From header alone is easy to forge.
        """
        sender = msg.sender.email.lower()
        if sender in self._handlers(conn, case):
            who = "a listed contact of the department"
        elif sender.rpartition("@")[2] in self._staff_domains(case):
            who = "an address of the staff domains"
        else:
            return None
        if self._trusted_authserv_id and not authenticated(
            msg.authentication_results, self._trusted_authserv_id, sender
        ):
            return None
        return who

    def classify(
        self, conn: Connection, msg: InboundMessage, rcpt_tos: Iterable[str], mail_from: str | None = None
    ) -> Classified:
        sender = msg.sender.email.lower()
        rcpt_tos = tuple(rcpt_tos)
        if msg.bounce:
            return self._bounce(conn, msg, rcpt_tos, mail_from)
        recipients = tuple(dict.fromkeys(a.lower() for a in (*rcpt_tos, *msg.to, *msg.cc)))
        # On an existing case even a weak sign (an out-of-office subject) makes it automatic: it is kept
        # on the case and answered by nobody. Only mail of no case opens one on a weak sign (issue 15).
        on_case_automatic = msg.auto_reply or msg.auto_reply_signal is not AutoReplySignal.NONE

        signed = self._signed_case(conn, recipients)
        if signed is not None:
            case, valid = signed
            if on_case_automatic:
                return Classified(MessageKind.AUTOMATIC, case, "automatic mail to a reply address")
            who = self.may_answer(conn, case, msg) if valid else None
            if who is not None:
                return Classified(MessageKind.ANSWER, case, f"{who}, through the signed reply address")
            if sender == case.resident_email.lower():
                return Classified(MessageKind.FOLLOW_UP, case, "the resident, through a reply address")
            if not valid:
                # Also the token of an earlier hand-over: a reroute rotates it (issue 15).
                why = "a reply address with a wrong or outdated token (rerouted since?)"
            elif self._trusted_authserv_id and self._known_sender(conn, case, sender):
                why = "no DKIM or DMARC pass for the sender's domain from our mail server"
            else:
                why = "neither a contact of the department nor at a staff domain"
            return Classified(MessageKind.UNVERIFIED, case, why)

        threaded = self._threaded_case(conn, msg)
        if threaded is not None:
            case = threaded
            if sender == case.resident_email.lower():
                kind = MessageKind.AUTOMATIC if on_case_automatic else MessageKind.FOLLOW_UP
                return Classified(kind, case, "the resident, in the case's thread")
            if on_case_automatic:
                return Classified(MessageKind.AUTOMATIC, case, "automatic mail in the case's thread")
            if sender in self._handlers(conn, case):
                return Classified(MessageKind.UNVERIFIED, case, "a handler without the signed reply address")
            # A code or a thread quoted by a stranger proves nothing (docs/findings.md: Zammad).
            log.info("a stranger quoted a case; it gets a case of its own", quoted=case.code)
        if msg.auto_reply:
            return Classified(MessageKind.AUTOMATIC, None, "automatic mail that belongs to no case")
        return Classified(MessageKind.NEW, None, "new feedback")

    def _known_sender(self, conn: Connection, case: Case, sender: str) -> bool:
        return sender in self._handlers(conn, case) or sender.rpartition("@")[2] in self._staff_domains(case)

    def _bounce(
        self, conn: Connection, msg: InboundMessage, rcpt_tos: tuple[str, ...], mail_from: str | None
    ) -> Classified:
        """A bounce is believed only with the null reverse-path to a signed bounce address (issue 15):
        its case is its mail's. Any other report is kept on the case its quoted Message-IDs name, and
        changes nothing there (intake marks nothing bounced)."""
        returned = signed_bounce(rcpt_tos, mail_from, self._secret)
        if returned is not None:
            case_id = outbox.case_of(conn, returned)
            return Classified(MessageKind.BOUNCE, _case(conn, case_id), "a bounce of mail we signed")
        case_id = case_store.case_for_message_ids(conn, msg.bounced_message_ids)
        why = "a delivery report we did not sign: kept, not believed"
        return Classified(MessageKind.BOUNCE, _case(conn, case_id), why)

    def _signed_case(self, conn: Connection, recipients: tuple[str, ...]) -> tuple[Case, bool] | None:
        """The case named by a reply address among *recipients*, and whether its token is right for the
        department the case is with now."""
        for address in recipients:
            local = address.partition("@")[0]
            detail = local.partition("+")[2]
            if "." not in detail:
                continue
            parts = reply_parts(address, self._prefix)
            code = parts[0] if parts else find_code(detail.rpartition(".")[0], self._prefix)
            case = case_store.get_case(conn, code=code) if code else None
            if case is not None:
                valid = parts is not None and token_matches(
                    parts[1], case.code, case.department or "", self._secret
                )
                return case, valid
        return None

    def _threaded_case(self, conn: Connection, msg: InboundMessage) -> Case | None:
        refs = (*msg.references, *((msg.in_reply_to,) if msg.in_reply_to else ()))
        case = _case(conn, case_store.case_for_message_ids(conn, refs))
        if case is None and msg.tracking_code:
            case = case_store.get_case(conn, code=msg.tracking_code)
        return case


def _case(conn: Connection, case_id: int | None) -> Case | None:
    return None if case_id is None else case_store.get_case(conn, case_id=case_id)
