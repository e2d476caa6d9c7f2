"""Is a message automatic (auto-reply, list mail, bounce)? RFC 3834 and the habits of real servers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from gateway.mail import headers
from gateway.mail.body import Body, content_type
from gateway.model import AutoReplySignal, InboundMessage

# Autoresponder subjects as whole phrases, in the shape Outlook, Exchange, Gmail, Lotus Notes and
# Thunderbird write them in fi, sv, en and de: the phrase, then ":" (or "-", "(") and the original
# subject, or the phrase alone. "Poissa oleva liikennemerkki", "Frånvaro av snöplogning" and "Out of
# office hours the street lights are off" are feedback (issue 15), so a bare first word never counts.
_PREFIXES = r"^(?:(?:re|vs|sv|aw|fw|fwd|antw)\s*:\s*)*"
_OUT_OF_OFFICE = re.compile(
    _PREFIXES + r"(?:automaattinen vastaus|automaattivastaus|poissa toimistolta|poissaoloilmoitus"
    r"|lomavastaaja|automatic reply|auto[- ]?reply|auto[- ]?response|automatic response"
    r"|out of (?:the )?office(?: auto[- ]?reply| reply)?|away from (?:the )?office|vacation reply"
    r"|autosvar|automatiskt svar|frånvarande|frånvaromeddelande|inte på kontoret"
    r"|abwesenheitsnotiz|automatische antwort)"
    r"\s*(?:[:(\-\u2013]|$)",
    re.I,
)
# Single words that are autoresponder prefixes only with their colon: "Auto: Katuvalo", "Poissa: ...".
_OUT_OF_OFFICE_WORD = re.compile(_PREFIXES + r"(?:auto|poissa|frånvaro|abwesend|abwesenheit)\s*:", re.I)
_BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon)@", re.I)
_DAEMON_SENDER = re.compile(r"^(?:mailer-daemon|mail-daemon)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (?:has )?failed"
    r"|mail delivery (?:failed|failure|subsystem)|returned mail|failure notice|non[- ]?delivery"
    r"|toimittamaton|toimitus epäonnistui|kunde inte levereras|olevererbar|unzustellbar",
    re.I,
)
_BODY_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.I | re.M)
_PRECEDENCE_AUTOMATIC = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS_AUTO_REPLY = frozenset({"all", "autoreply", "oof"})


@dataclass(frozen=True, slots=True)
class Verdict:
    signal: AutoReplySignal  # STRONG: intake treats it as automatic; WEAK: a case, but no receipt
    why: str  # which header or subject decided it, "" for NONE
    bounce: bool
    bounced_message_ids: tuple[str, ...]

    @property
    def auto_reply(self) -> bool:
        return self.signal is AutoReplySignal.STRONG


def judge(msg: Message, subject: str, sender: str, body: Body, mail_from: str | None) -> Verdict:
    """Decide whether *msg* was sent by a machine; a bounce is always automatic too."""
    bounce = is_bounce(msg, subject, sender, body)
    if bounce:
        signal, why = AutoReplySignal.STRONG, "a delivery status notification"
    elif mail_from == "":
        signal, why = AutoReplySignal.STRONG, "a null reverse-path (RFC 3834 section 3.3)"
    else:
        signal, why = auto_reply_signal(msg, subject, sender)
    bounced: tuple[str, ...] = ()
    if bounce:
        bounced = body.enclosed_ids or tuple(
            i for m in _BODY_MESSAGE_ID.findall(body.text) for i in headers.message_ids(m)
        )
    return Verdict(signal, why, bounce, tuple(dict.fromkeys(bounced)))


def auto_reply_signal(msg: Message, subject: str, sender: str = "") -> tuple[AutoReplySignal, str]:
    """How strongly *msg* says a machine sent it, and why.

    Strong: the headers that mean it (RFC 3834 Auto-Submitted, Precedence, List-Id, vendor flags, an
    RFC 6522 report) and a mailer-daemon sender. Weak: only an autoresponder's subject, or
    X-Auto-Response-Suppress, which Outlook also puts on ordinary mail (it asks *us* not to
    auto-reply, so we send no receipt, but it says nothing sure about the message: decision 0019a).
    """
    auto_submitted = headers.text(msg, "auto-submitted").lower().strip()
    if auto_submitted and not auto_submitted.startswith("no"):
        return AutoReplySignal.STRONG, f"Auto-Submitted: {auto_submitted[:40]}"
    precedence = headers.text(msg, "precedence").lower().strip()
    if precedence in _PRECEDENCE_AUTOMATIC:
        return AutoReplySignal.STRONG, f"Precedence: {precedence}"
    for name in ("list-id", "x-autoreply", "x-autorespond"):
        if headers.has_header(msg, name):
            return AutoReplySignal.STRONG, f"a {name} header"
    if content_type(msg) == "multipart/report":  # read receipts and other reports: machines talking
        return AutoReplySignal.STRONG, "a multipart/report"
    if _DAEMON_SENDER.match(sender):
        return AutoReplySignal.STRONG, "sent by a mailer-daemon"
    ooo_subject = bool(_OUT_OF_OFFICE.match(subject) or _OUT_OF_OFFICE_WORD.match(subject))
    suppress = {v.strip().lower() for v in headers.text(msg, "x-auto-response-suppress").split(",")}
    suppressed = bool(suppress & _SUPPRESS_AUTO_REPLY)
    if ooo_subject and suppressed:  # Exchange's own out-of-office reply: two signs that agree
        return AutoReplySignal.STRONG, "an autoresponder's subject and X-Auto-Response-Suppress"
    if ooo_subject:
        return AutoReplySignal.WEAK, "an autoresponder's subject"
    if suppressed:
        return AutoReplySignal.WEAK, "X-Auto-Response-Suppress asks for no automatic answer"
    return AutoReplySignal.NONE, ""


def is_auto_reply(msg: Message, subject: str) -> bool:
    """Whether *msg* is surely automatic (a strong signal)."""
    return auto_reply_signal(msg, subject)[0] is AutoReplySignal.STRONG


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


def receipt_withheld(msg: InboundMessage) -> str | None:
    """Why a new case from *msg* gets no receipt, or None when it gets one. Intake records the reason on
    the case; `gateway parse` and `gateway route` print it, so the three agree (issue 15)."""
    if msg.auto_reply or msg.bounce:
        return f"automatic mail ({msg.auto_reply_why or 'bounce'})"
    if msg.auto_reply_signal is AutoReplySignal.WEAK:
        return f"possibly automatic: {msg.auto_reply_why}"
    if not headers.is_addr_spec(msg.sender.email):
        return "the sender's address is not a valid addr-spec"
    return None
