"""`CaseFields`: the facts about one piece of feedback that rules look at, whatever the channel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.model import InboundMessage


@dataclass(frozen=True, slots=True)
class CaseFields:
    """What the rule engine routes on. Addresses lower-case; location is (lat, lon) in WGS 84."""

    text: str = ""
    subject: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()  # the city addresses the resident wrote to (envelope first)
    channel: str = "smtp"  # smtp / imap / web / phone / walk-in / open311
    category: str | None = None  # a web form's category or an Open311 service_code
    language: str | None = None  # fi / sv / en
    location: tuple[float, float] | None = None  # (lat, lon)

    @classmethod
    def from_message(
        cls,
        msg: InboundMessage,
        channel: str = "smtp",
        recipients: Iterable[str] | None = None,
        category: str | None = None,
        location: tuple[float, float] | None = None,
    ) -> CaseFields:
        """Fields of a normalised message; *recipients* should be the envelope's when known.

        Without them the To and Cc addresses are used (Bcc and forwarding are then invisible).
        """
        rcpts = tuple(recipients) if recipients is not None else msg.to + msg.cc
        category = category if category is not None else msg.category
        location = location if location is not None else msg.location
        return cls(
            text=msg.text,
            subject=msg.subject,
            sender=msg.sender.email.lower(),
            recipients=tuple(r.lower() for r in rcpts),
            channel=channel,
            category=category,
            language=msg.language,
            location=location,
        )
