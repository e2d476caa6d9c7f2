"""The kinds of things: channels, case statuses, event and message kinds, as enums."""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    SMTP = "smtp"
    IMAP = "imap"
    WEB = "web"
    PHONE = "phone"
    WALK_IN = "walk-in"
    OPEN311 = "open311"


class CaseStatus(enum.StrEnum):
    NEW = "new"  # opened, not yet handed over
    ROUTED = "routed"  # handed to a department, waiting for its answer
    WAITING = "waiting"  # staff asked the resident something; the answer clock pauses
    ANSWERED = "answered"
    CLOSED = "closed"


class EventKind(enum.StrEnum):
    OPENED = "opened"
    FOLLOW_UP = "follow-up"  # the resident wrote again
    ROUTED = "routed"
    REROUTED = "rerouted"
    ANSWER = "answer"  # a handler's answer relayed to the resident
    AUTOMATIC = "automatic"  # an auto-reply or bounce kept on the case, never answered
    UNVERIFIED = "unverified"  # a reply that could not be taken as an answer
    NOTE = "note"


class MessageKind(enum.StrEnum):
    """What classify() made of an inbound message."""

    NEW = "new"
    FOLLOW_UP = "follow-up"  # the resident writes again
    ANSWER = "answer"  # a handler answers through the case's signed reply address
    UNVERIFIED = "unverified"  # a reply to a case that is not a valid answer: kept for a person to look at
    AUTOMATIC = "automatic"
    BOUNCE = "bounce"
    LOOP = "loop"  # our own mail coming back


class AutoReplySignal(enum.StrEnum):
    """How surely a message was sent by a machine (issue 15, decision 0019a)."""

    STRONG = "strong"  # the headers that mean it: no case of its own, no receipt
    WEAK = "weak"  # only a sign such as an autoresponder's subject: a case, but no receipt
    NONE = "none"
