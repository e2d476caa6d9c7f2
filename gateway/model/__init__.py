"""The domain values every stage passes on: plain frozen dataclasses and enums, importing nothing of ours
but each other. One module per family; the names are re-exported here."""

from gateway.model.case import Case, NewCase
from gateway.model.decision import Decision, RuleMiss
from gateway.model.kinds import AutoReplySignal, CaseStatus, Channel, EventKind, MessageKind
from gateway.model.message import Address, Attachment, InboundMessage
from gateway.model.receipt import NewReceipt, ReceiptId, Stored

__all__ = [
    "Address",
    "Attachment",
    "AutoReplySignal",
    "Case",
    "CaseStatus",
    "Channel",
    "Decision",
    "EventKind",
    "InboundMessage",
    "MessageKind",
    "NewCase",
    "NewReceipt",
    "ReceiptId",
    "RuleMiss",
    "Stored",
]
