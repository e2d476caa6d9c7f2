"""A case: one piece of feedback with its tracking code, where it was routed and its clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.model.decision import Decision
from gateway.model.kinds import CaseStatus, Channel


@dataclass(frozen=True, slots=True)
class NewCase:
    """A case before it is stored: what intake (or an operator) opens. `decision` is the routing
    decision, None when no rule applies yet; its department, due times and priority are the case's."""

    code: str
    channel: Channel
    created_at: datetime
    resident_email: str
    resident_name: str = ""
    language: str = "fi"
    subject: str = ""
    text: str = ""
    message_id: str | None = None
    decision: Decision | None = None
    status: CaseStatus | None = None  # None: routed when the decision names a contact, else new
    category: str | None = None
    location: tuple[float, float] | None = None  # (lat, lon)
    address: str = ""
    resident_phone: str = ""
    publish_consent: bool = False

    @property
    def opening_status(self) -> CaseStatus:
        if self.status is not None:
            return self.status
        return CaseStatus.ROUTED if self.decision and self.decision.contact else CaseStatus.NEW


@dataclass(frozen=True, slots=True)
class Case:
    """A case as stored (the store maps it to and from its row)."""

    id: int  # 0 for a case worked out before it is stored (decision 0016)
    code: str
    status: CaseStatus
    channel: Channel
    created_at: datetime
    updated_at: datetime
    resident_email: str
    resident_name: str
    language: str
    subject: str
    text: str
    message_id: str | None
    department: str | None
    rule: str | None
    priority: str | None
    decision: Decision | None
    due_at: datetime | None
    first_response_due_at: datetime | None
    # what a web, API, phone or walk-in submission told besides its text (issue 17)
    category: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    resident_phone: str = ""
    publish_consent: bool = False
