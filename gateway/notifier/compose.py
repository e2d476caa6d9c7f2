"""Composing our outgoing mail: pure functions from values to RFC 5322 bytes."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from gateway.mail import LOOP_HEADER
from gateway.model import Address, Attachment

# The stdlib folds a long unstructured header by RFC 2047-encoding it, which breaks Message-IDs in
# In-Reply-To and References; RFC 5322 allows 998 characters, so fold only beyond that.
POLICY = SMTP.clone(max_line_length=998)
SYNTHETIC_ID_DOMAIN = "@gateway.invalid"  # Message-IDs the parser made up for mail that had none


@dataclass(frozen=True, slots=True)
class Identity:
    """Who our mail comes from: the city's address, never an official's."""

    address: str
    name: str
    domain: str  # right-hand side of our Message-IDs
    secret: str  # signs the loop marker


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID derived from the outbox dedupe key: a retry after a crash yields the same mail."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{key.split(':', 1)[0]}.{digest}@{domain}"


def loop_marker(identity: Identity, message_id: str) -> str:
    """The value of our loop header: it proves, for this Message-ID, that the mail was ours."""
    mac = hmac.new(identity.secret.encode(), message_id.encode(), hashlib.sha256).hexdigest()[:20]
    return f"{identity.domain} {mac}"


def is_our_loop_marker(identity: Identity, message_id: str, value: str | None) -> bool:
    return value is not None and hmac.compare_digest(value.strip(), loop_marker(identity, message_id))


def _addr(a: Address) -> HeaderAddress:
    user, _, domain = a.email.rpartition("@")
    return HeaderAddress(display_name=a.name, username=user, domain=domain)


def compose(
    identity: Identity,
    *,
    to: Address,
    subject: str,
    body: str,
    message_id: str,
    date: datetime,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    auto_submitted: str | None = "auto-replied",
    reply_to: str | None = None,
    language: str = "fi",
    attachments: tuple[Attachment, ...] = (),
) -> bytes:
    """Return one message in UTF-8 from the city's address, with *attachments* if any.

    All our mail is automatic and says so the RFC 3834 way: `auto-replied` for answers to a message
    (receipts), `auto-generated` for the rest (hand-overs, reminders). It asks Exchange not to answer it
    (X-Auto-Response-Suppress), and carries our signed loop header.
    """
    msg = EmailMessage(policy=POLICY)
    msg["From"] = HeaderAddress(display_name=identity.name, addr_spec=identity.address)
    msg["To"] = _addr(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{message_id}>"
    msg["Content-Language"] = language
    if reply_to:
        msg["Reply-To"] = reply_to
    references = tuple(r for r in references if not r.endswith(SYNTHETIC_ID_DOMAIN))
    if in_reply_to and in_reply_to.endswith(SYNTHETIC_ID_DOMAIN):
        in_reply_to = references[-1] if references else None
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        refs = [*[r for r in references if r != in_reply_to][-10:], in_reply_to]
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    if auto_submitted == "auto-replied":
        msg["Precedence"] = "auto_reply"
    msg[LOOP_HEADER] = loop_marker(identity, message_id)
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        if maintype == "text" or "/" not in item.content_type:
            maintype, subtype = "application", "octet-stream"  # keep the resident's bytes exactly
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype, filename=item.filename)
    return msg.as_bytes()
