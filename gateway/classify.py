"""Classify and thread: what an inbound message is and which case it belongs to (DESIGN.md, step 3).

Threading tries, in order: the signed reply token in a recipient plus-address, our own Message-IDs in
In-Reply-To/References, then the tracking code (subject or plus-address) accepted only from a participant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection

from gateway.model import InboundMessage, MessageKind
from gateway.notifier.bounce_address import signed_bounce
from gateway.notifier.reply_address import verified_code
from gateway.store import cases as case_store
from gateway.store import outbox
from gateway.store.cases import CaseRow
from gateway.tracking import find_code

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Classified:
    kind: MessageKind
    case: CaseRow | None
    why: str


class Classifier:
    def __init__(
        self,
        secret: str,
        prefix: str,
        handlers: Callable[[Connection, CaseRow], frozenset[str]],
    ) -> None:
        self._secret = secret
        self._prefix = prefix
        self._handlers = handlers

    def classify(
        self, conn: Connection, msg: InboundMessage, rcpt_tos: Iterable[str], mail_from: str | None = None
    ) -> Classified:
        sender = msg.sender.email.lower()
        rcpt_tos = tuple(rcpt_tos)
        if msg.bounce:
            return self._bounce(conn, msg, rcpt_tos, mail_from)
        recipients = tuple(dict.fromkeys(a.lower() for a in (*rcpt_tos, *msg.to, *msg.cc)))

        signed = self._signed_case(conn, recipients)
        if signed is not None:
            case, valid = signed
            if msg.auto_reply:
                return Classified(MessageKind.AUTOMATIC, case, "automatic mail to a reply address")
            if valid and sender in self._handlers(conn, case):
                return Classified(MessageKind.ANSWER, case, "the handler, through the signed reply address")
            if sender == case.resident_email.lower():
                return Classified(MessageKind.FOLLOW_UP, case, "the resident, through a reply address")
            why = "not a handler of the case" if valid else "a reply address with a wrong token"
            return Classified(MessageKind.UNVERIFIED, case, why)

        threaded = self._threaded_case(conn, msg)
        if threaded is not None:
            case = threaded
            if sender == case.resident_email.lower():
                kind = MessageKind.AUTOMATIC if msg.auto_reply else MessageKind.FOLLOW_UP
                return Classified(kind, case, "the resident, in the case's thread")
            if msg.auto_reply:
                return Classified(MessageKind.AUTOMATIC, case, "automatic mail in the case's thread")
            if sender in self._handlers(conn, case):
                return Classified(MessageKind.UNVERIFIED, case, "a handler without the signed reply address")
            # A code or a thread quoted by a stranger proves nothing (FINDINGS.md: Zammad).
            log.info("a stranger quoted a case; it gets a case of its own", quoted=case.code)
        if msg.auto_reply:
            return Classified(MessageKind.AUTOMATIC, None, "automatic mail that belongs to no case")
        return Classified(MessageKind.NEW, None, "new feedback")

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

    def _signed_case(self, conn: Connection, recipients: tuple[str, ...]) -> tuple[CaseRow, bool] | None:
        """The case named by a reply address among *recipients*, and whether its token is right."""
        for address in recipients:
            local = address.partition("@")[0]
            detail = local.partition("+")[2]
            if "." not in detail:
                continue
            code = verified_code(address, self._secret, self._prefix)
            valid = code is not None
            code = code or find_code(detail.rpartition(".")[0], self._prefix)
            case = case_store.get_case(conn, code=code) if code else None
            if case is not None:
                return case, valid
        return None

    def _threaded_case(self, conn: Connection, msg: InboundMessage) -> CaseRow | None:
        refs = (*msg.references, *((msg.in_reply_to,) if msg.in_reply_to else ()))
        case = _case(conn, case_store.case_for_message_ids(conn, refs))
        if case is None and msg.tracking_code:
            case = case_store.get_case(conn, code=msg.tracking_code)
        return case


def _case(conn: Connection, case_id: int | None) -> CaseRow | None:
    return None if case_id is None else case_store.get_case(conn, case_id=case_id)
