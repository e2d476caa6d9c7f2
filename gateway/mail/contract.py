"""The JSON form of an InboundMessage that `gateway parse` prints and DESIGN.md promises."""

from __future__ import annotations

from gateway.mail.automatic import receipt_withheld
from gateway.model import InboundMessage


def to_json(msg: InboundMessage) -> dict[str, object]:
    """The DESIGN.md keys first, in their documented order; the model's extra fields after them."""
    return {
        "message_id": msg.message_id,
        "from": {"email": msg.sender.email, "name": msg.sender.name},
        "to": list(msg.to),
        "subject": msg.subject,
        "text": msg.text,
        "reply_text": msg.reply_text,
        "language": msg.language,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in msg.attachments
        ],
        "auto_reply": msg.auto_reply,
        "bounce": msg.bounce,
        "tracking_code": msg.tracking_code,
        "in_reply_to": msg.in_reply_to,
        "references": list(msg.references),
        "cc": list(msg.cc),
        "date": msg.date.isoformat() if msg.date else None,
        "loop_marker": msg.loop_marker,
        "bounced_message_ids": list(msg.bounced_message_ids),
        "auto_reply_signal": str(msg.auto_reply_signal),
        "auto_reply_why": msg.auto_reply_why,
        "receipt_withheld": receipt_withheld(msg),
        "skipped_parts": msg.skipped_parts,
        "attachments_left_out": msg.attachments_left_out,
    }
