"""parse(): raw mail bytes and their SMTP envelope in, one InboundMessage out. Pure; never raises."""

from __future__ import annotations

import dataclasses
import hashlib
from email import policy
from email.message import Message
from email.parser import BytesParser

from gateway.mail import headers
from gateway.mail.automatic import judge
from gateway.mail.body import DEFAULT_LIMITS, ParseLimits, extract
from gateway.mail.charset import decode_bytes
from gateway.mail.dsn import final_recipients
from gateway.mail.flat import boundary_offsets, text_parts
from gateway.mail.language import detect_language
from gateway.mail.reply import strip_reply
from gateway.model import Address, AutoReplySignal, InboundMessage
from gateway.model.tracking_code import find_code

LOOP_HEADER = "X-Gateway-Loop"

# compat32, not policy.default: we decode every header ourselves (headers.py), and policy.default's
# header objects made parsing 2.5-4 times slower with the same output (docs/decisions/0002).
_PARSER = BytesParser(policy=policy.compat32)


def parse(
    raw: bytes,
    *,
    envelope_rcpts: tuple[str, ...] = (),
    mail_from: str | None = None,
    code_prefix: str = "HEL",
    limits: ParseLimits = DEFAULT_LIMITS,
) -> InboundMessage:
    """Normalise *raw* mail into an InboundMessage.

    *mail_from* is the SMTP reverse-path: "" is the null sender <> (always automatic, RFC 3834),
    None means unknown (a file). *envelope_rcpts* are searched for a tracking code in a
    plus-address, like To and Cc. Any bytes give a message; nothing here raises.
    """
    raw = bytes(raw)
    # Bound the parser's work (issue 15, item 10): only the first max_mime_parts parts are parsed; the
    # rest stays in the raw message, which the receipt keeps whole, and is counted as skipped.
    most = limits.max_mime_parts
    offsets, total = boundary_offsets(raw, most + 1)
    parsed = raw[: offsets[most]] if total > most else raw
    cut = max(0, total - most)
    try:
        tree = _PARSER.parsebytes(parsed)
        msg = _normalise(tree, raw, parsed, envelope_rcpts, mail_from, code_prefix, limits)
    except Exception:  # a parser or library bug on hostile bytes: keep the mail, readable as text
        msg = _unparseable(raw, parsed, mail_from, most)
    msg = _with_skipped(msg, msg.skipped_parts + cut) if cut else msg
    return _noted(msg, limits)


def synthetic_message_id(raw: bytes) -> str:
    """A stable Message-ID for mail that has none: the same bytes always get the same id."""
    return f"sha256-{hashlib.sha256(raw).hexdigest()}@gateway.invalid"


def _normalise(
    msg: Message,
    raw: bytes,
    parsed: bytes,
    envelope_rcpts: tuple[str, ...],
    mail_from: str | None,
    code_prefix: str,
    limits: ParseLimits,
) -> InboundMessage:
    subject = headers.text(msg, "subject")
    senders = headers.addresses(msg, "from") or headers.addresses(msg, "sender")
    sender = senders[0] if senders else Address((mail_from or "").strip("<>").lower())
    to = tuple(a.email for a in headers.addresses(msg, "to"))
    cc = tuple(a.email for a in headers.addresses(msg, "cc"))
    body = extract(msg, limits.max_attachments)
    text, own_text, skipped = body.text, body.own_text, 0
    if body.too_deep:  # issue 15, item 3: the text nested past MAX_DEPTH, found without recursion
        flat = text_parts(parsed, limits.max_mime_parts)
        text = own_text = "\n\n".join(flat.texts)
        skipped = flat.skipped + body.too_deep  # the subtrees past the limit were read flat, not walked
    reply_text = strip_reply(own_text)
    verdict = judge(msg, subject, sender.email, body, mail_from)
    recipients = tuple(r.strip().strip("<>").lower() for r in envelope_rcpts) + to + cc
    ids = headers.message_ids(headers.text(msg, "message-id"))
    in_reply_to = headers.message_ids(headers.text(msg, "in-reply-to"))
    return InboundMessage(
        message_id=ids[0] if ids else synthetic_message_id(raw),
        sender=sender,
        to=tuple(dict.fromkeys(to + cc)),
        subject=subject,
        text=text,
        reply_text=reply_text,
        language=_language(reply_text, subject, text),
        attachments=body.attachments,
        auto_reply=verdict.auto_reply,
        auto_reply_signal=verdict.signal,
        auto_reply_why=verdict.why,
        skipped_parts=skipped,
        attachments_left_out=body.attachments_left_out,
        bounce=verdict.bounce,
        tracking_code=_tracking_code(recipients, subject, code_prefix),
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=headers.message_ids(headers.text(msg, "references")),
        date=headers.parse_date(headers.text(msg, "date")),
        loop_marker=headers.text(msg, LOOP_HEADER) or None,
        bounced_message_ids=verdict.bounced_message_ids,
        cc=cc,
        authentication_results=tuple(
            headers.decode_value(v) for v in headers.raw_values(msg, "authentication-results")
        ),
        bounced_recipients=final_recipients(msg) if verdict.bounce else (),
    )


def _language(reply_text: str, subject: str, text: str) -> str | None:
    """The language of what the sender wrote; only when they wrote nothing new (all quote, or only
    attachments) do the subject and the whole text stand in. A short reply stays None."""
    return detect_language(reply_text if reply_text.strip() else f"{subject}\n{text}")


def _tracking_code(recipients: tuple[str, ...], subject: str, prefix: str) -> str | None:
    """A code in a plus-address (palaute+hel-7k3m-q9td.<token>@...) first: we made that address;
    then the subject. Never the body, where residents quote other people's codes."""
    for address in recipients:
        local = address.rpartition("@")[0] or address
        if "+" in local and (code := find_code(local.partition("+")[2], prefix)):
            return code
    return find_code(subject, prefix)


def _noted(msg: InboundMessage, limits: ParseLimits) -> InboundMessage:
    """Say in the text, so in the case and its hand-over, what was not read (issue 15, items 3 and 10)."""
    notes = []
    if msg.skipped_parts:
        notes.append(
            f"[gateway: {msg.skipped_parts} MIME-osaa ohitettiin / MIME parts skipped "
            "(liian syvällä tai liikaa osia / nested too deep or too many parts)]"
        )
    if msg.attachments_left_out:
        notes.append(
            f"[gateway: {msg.attachments_left_out} liitettä jätettiin pois / attachments left out "
            f"(enintään {limits.max_attachments} / at most {limits.max_attachments})]"
        )
    if not notes:
        return msg
    notes.append("[gateway: alkuperäinen viesti on tallessa / the original message is kept]")
    return dataclasses.replace(msg, text="\n\n".join([msg.text.rstrip(), *notes]).strip())


def _with_skipped(msg: InboundMessage, skipped: int) -> InboundMessage:
    return dataclasses.replace(msg, skipped_parts=skipped)


def _unparseable(raw: bytes, parsed: bytes, mail_from: str | None, most: int) -> InboundMessage:
    flat = text_parts(parsed, most)
    # MIME the parser gave up on (depth 1,000): its text parts, never its structure (issue 15, item 3).
    is_mime = boundary_offsets(parsed, 1)[1] > 0
    text = "\n\n".join(flat.texts) if is_mime else decode_bytes(raw)
    return InboundMessage(
        skipped_parts=max(flat.skipped, 1) if is_mime else 0,
        message_id=synthetic_message_id(raw),
        sender=Address((mail_from or "").strip("<>").lower()),
        to=(),
        subject="",
        text=text,
        reply_text=text,
        language=None,
        auto_reply=mail_from == "",
        auto_reply_signal=AutoReplySignal.STRONG if mail_from == "" else AutoReplySignal.NONE,
    )
