"""The domain values every stage passes on: plain frozen dataclasses and enums, importing nothing of ours
but each other. One module per family; the names are re-exported here."""

from gateway.model.decision import Decision
from gateway.model.kinds import AutoReplySignal, CaseStatus, Channel, EventKind, MessageKind
from gateway.model.message import Address, Attachment, InboundMessage
from gateway.model.receipt import NewReceipt, ReceiptId

__all__ = [
    "Address",
    "Attachment",
    "AutoReplySignal",
    "CaseStatus",
    "Channel",
    "Decision",
    "EventKind",
    "InboundMessage",
    "MessageKind",
    "NewReceipt",
    "ReceiptId",
]
