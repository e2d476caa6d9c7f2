"""The one outbound path: every mail we send, whatever wrote it (a new case, an answer, a deadline), is
checked by the same guard and queued in the outbox the same way, composed with a Message-ID derived from
its dedupe key (so that a retry cannot make a second, different mail). Nothing is sent here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Connection

from gateway.mail.headers import is_addr_spec
from gateway.model import Address, Attachment
from gateway.notifier.compose import Identity, compose, message_id_for
from gateway.notifier.templates import Templates
from gateway.store import outbox

log = structlog.get_logger(__name__)

# Local parts that must never get mail from us (RFC 3834 section 2; peers looped on these): mailer-daemon,
# postmaster, bounces, and every spelling of no-reply, also as a part (notifications-noreply, noreply-x).
NEVER_ANSWER = re.compile(
    r"^(mailer-daemon|postmaster|bounces?)$|(^|[-_.+])(no[-_.]?reply|do[-_.]?not[-_.]?reply)([-_.+]|$)",
    re.IGNORECASE,
)
HANDOVER_KINDS = ("forward", "follow-up")


@dataclass(frozen=True, slots=True)
class Mail:
    """One mail the planner owes: what to render and compose, and to whom."""

    key: str  # the outbox dedupe key; the Message-ID is derived from it
    kind: str
    to: Address
    template: str
    language: str
    values: dict[str, str]
    automatic: bool = True
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()
    mail_from: str = ""


# Staff mail that is never held back because the address bounced lately: a hand-over (issue 15: one forged
# bounce silenced a department) and an alarm (the escalation must be heard; its own bounce says if not).
NEVER_HELD_FOR_BOUNCES = (*HANDOVER_KINDS, "alarm")


class Directory(Protocol):
    """What the planner needs to know of the configuration in force (gateway.rules.live.LiveConfig)."""

    @property
    def timezone(self) -> ZoneInfo: ...

    def department_name(self, key: str, language: str) -> str: ...

    def category_name(self, key: str, language: str) -> str: ...

    def is_city_address(self, address: str) -> bool: ...

    def contact_at(self, department: str, now: datetime) -> str | None: ...

    def escalation(self, department: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Offered:
    """What became of a mail offered to the outbox: its Message-ID when queued now; why it was held back;
    neither when the same key was queued before (a retry)."""

    message_id: str | None
    held: str | None


class Outbound:
    """Guards, composes and queues mail. Never to our own addresses or to mailer-daemon and its kin, never
    an automatic notice to an address that bounced lately, and at most so many per recipient and per case
    an hour."""

    def __init__(
        self,
        templates: Templates,
        identity: Identity,
        directory: Directory,
        *,
        notices_per_recipient_per_hour: int = 5,
        notices_per_case_per_hour: int = 10,
        relays_per_case_per_hour: int = 6,
        unreachable_for: timedelta = timedelta(days=3),
    ) -> None:
        self._templates = templates
        self._identity = identity
        self._directory = directory
        self._per_recipient = notices_per_recipient_per_hour
        self._per_case = notices_per_case_per_hour
        self._relays_per_case = relays_per_case_per_hour
        self._unreachable_for = unreachable_for

    @property
    def identity(self) -> Identity:
        return self._identity

    def may_answer(self, address: str) -> bool:
        """Whether *address* may receive mail from us at all (RFC 3834 section 2)."""
        local, _, domain = address.lower().rpartition("@")
        if not is_addr_spec(address):  # never a header or RCPT TO built from a hostile From (issue 15)
            return False
        if not local or not domain or self._directory.is_city_address(address):
            return False
        return NEVER_ANSWER.search(local) is None and NEVER_ANSWER.search(local.split("+", 1)[0]) is None

    def guard(
        self, conn: Connection, to: str, case_id: int | None, now: datetime, kind: str, new_case: bool
    ) -> str | None:
        """Why mail to *to* must not go now, or None when it may."""
        if not self.may_answer(to):
            return "an address we never write to"
        hour_ago = now - timedelta(hours=1)
        if kind in outbox.AUTOMATIC_KINDS:  # both questions of the recipient in one statement
            bounced, recent = outbox.automatic_guard(conn, to, now - self._unreachable_for, hour_ago)
            if bounced:
                return "the address bounced lately"
            if recent >= self._per_recipient:
                return "rate limit per recipient"
            if new_case or case_id is None:
                return None
            if outbox.count_automatic_on_case(conn, case_id, hour_ago) >= self._per_case:
                return "rate limit per case"
            return None
        if outbox.is_unreachable(conn, to, now - self._unreachable_for):
            if kind not in NEVER_HELD_FOR_BOUNCES:
                return "the address bounced lately"
            # A hand-over is never held back (issue 15: one forged bounce silenced a department): it is
            # queued; if the address really is dead, its own signed bounce raises the alarm for this case.
            log.warning("a hand-over goes to an address that bounced lately", kind=kind, to=to)
        if kind not in outbox.CONVERSATION_KINDS or case_id is None:
            return None
        if outbox.count_conversation_on_case(conn, case_id, hour_ago) >= self._relays_per_case:
            return "rate limit of answers and follow-ups per case (an autoresponder loop?)"
        return None

    def compose(self, mail: Mail, now: datetime) -> bytes:
        """Render and compose *mail*: pure work, done before the transaction where it can be (intake)."""
        rendered = self._templates.render(mail.template, mail.language, **mail.values)
        return compose(
            self._identity,
            to=mail.to,
            subject=rendered.subject.rstrip(": "),
            body=rendered.body,
            message_id=message_id_for(mail.key, self._identity.domain, self._identity.secret),
            date=now,
            in_reply_to=mail.in_reply_to,
            references=mail.references,
            # RFC 3834: automatic answers are auto-replied, other automatic mail auto-generated; an
            # answer a person wrote and we relay is neither.
            auto_submitted=("auto-replied" if mail.kind in outbox.AUTOMATIC_KINDS else "auto-generated")
            if mail.automatic
            else None,
            reply_to=mail.reply_to,
            language=mail.language,
            attachments=mail.attachments,
        )

    def send(
        self,
        conn: Connection,
        mail: Mail,
        case_id: int | None,
        now: datetime,
        *,
        new_case: bool = False,
        composed: Mapping[str, bytes] | None = None,
    ) -> str | None:
        """Queue *mail* (composed now unless *composed* holds it by its key); its Message-ID when queued,
        None when held back or queued before."""
        return self.offer(conn, mail, case_id, now, new_case=new_case, composed=composed).message_id

    def offer(
        self,
        conn: Connection,
        mail: Mail,
        case_id: int | None,
        now: datetime,
        *,
        new_case: bool = False,
        composed: Mapping[str, bytes] | None = None,
    ) -> Offered:
        """`send`, saying why a mail was held back."""
        reason = self.guard(conn, mail.to.email, case_id, now, mail.kind, new_case)
        if reason is not None:
            log.info("mail held back", kind=mail.kind, to=mail.to.email, reason=reason)
            return Offered(None, reason)
        message_id = message_id_for(mail.key, self._identity.domain, self._identity.secret)
        body = composed.get(mail.key) if composed else None
        if body is None:
            body = self.compose(mail, now)
        item = outbox.OutboundItem(
            mail.key, mail.kind, mail.to.email, body, case_id, "mail", mail.mail_from, message_id
        )
        if not outbox.enqueue(conn, item, now):  # the outbox row is how a reply finds its case
            return Offered(None, None)
        return Offered(message_id, None)
