"""Is a message automatic (auto-reply, list mail, bounce)? RFC 3834 and the habits of real servers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from gateway.mail import headers
from gateway.mail.body import Body, content_type

# Out-of-office subjects as Outlook, Gmail and Exchange write them in fi, sv, en (and de).
_OUT_OF_OFFICE = re.compile(
    r"^(?:(?:re|vs|sv|aw|fw|fwd)\s*:\s*)*"
    r"(?:automaattinen vastaus|automatic reply|auto(?:matic)?[- ]?reply|autosvar|automatiskt svar"
    r"|out of (?:the )?office|poissa|frånvaro|abwesenheit|automatische antwort)\b",
    re.I,
)
_BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (?:has )?failed"
    r"|mail delivery (?:failed|failure|subsystem)|returned mail|failure notice|non[- ]?delivery"
    r"|toimittamaton|toimitus epäonnistui|kunde inte levereras|olevererbar|unzustellbar",
    re.I,
)
_BODY_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.I | re.M)
_PRECEDENCE_AUTOMATIC = frozenset({"bulk", "junk", "list"})


@dataclass(frozen=True, slots=True)
class Verdict:
    auto_reply: bool
    bounce: bool
    bounced_message_ids: tuple[str, ...]


def judge(msg: Message, subject: str, sender: str, body: Body, mail_from: str | None) -> Verdict:
    """Decide whether *msg* was sent by a machine; a bounce is always automatic too."""
    bounce = is_bounce(msg, subject, sender, body)
    automatic = bounce or mail_from == "" or is_auto_reply(msg, subject)
    bounced: tuple[str, ...] = ()
    if bounce:
        bounced = body.enclosed_ids or tuple(
            i for m in _BODY_MESSAGE_ID.findall(body.text) for i in headers.message_ids(m)
        )
    return Verdict(auto_reply=automatic, bounce=bounce, bounced_message_ids=tuple(dict.fromkeys(bounced)))


def is_auto_reply(msg: Message, subject: str) -> bool:
    """RFC 3834 Auto-Submitted, Precedence, list headers, vendor flags, out-of-office subjects.

    X-Auto-Response-Suppress is deliberately ignored: Outlook puts it on ordinary mail to ask
    *others* not to auto-reply; it says nothing about the message itself.
    """
    auto_submitted = headers.text(msg, "auto-submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if headers.text(msg, "precedence").lower().strip() in _PRECEDENCE_AUTOMATIC:
        return True
    if any(headers.has_header(msg, h) for h in ("list-id", "x-autoreply", "x-autorespond")):
        return True
    # Read receipts and other reports (RFC 6522) are machines talking too.
    if content_type(msg) == "multipart/report":
        return True
    return _OUT_OF_OFFICE.match(subject) is not None


def is_bounce(msg: Message, subject: str, sender: str, body: Body) -> bool:
    """A delivery status notification (RFC 3464) or a mailer-daemon's failure notice."""
    if content_type(msg) == "multipart/report" and _report_type(msg) == "delivery-status":
        return True
    if body.has_delivery_status:
        return True
    return bool(_BOUNCE_SENDER.match(sender)) and bool(_BOUNCE_SUBJECT.search(subject))


def _report_type(msg: Message) -> str:
    try:
        value = msg.get_param("report-type")
    except Exception:
        return ""
    return value.lower() if isinstance(value, str) else ""
