"""What staff do to a case from the console (issue 18), each in a transaction of its own: answer, send
elsewhere, set waiting or closed, add an internal note. The same rules as by mail: an answer goes out
through `StaffDesk.record_answer` exactly as a mailed one does, the handler's name taken out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from gateway.casework.answers import StaffDesk
from gateway.casework.reroute import reroute_case
from gateway.deadlines.plan import set_status
from gateway.errors import NoSuchCase
from gateway.model import Case, CaseStatus, EventKind
from gateway.notifier.plan import Planner
from gateway.rules.live import LiveConfig
from gateway.store import cases as case_store
from gateway.store.db import Database

# The statuses staff set by hand; answered comes with an answer, routed with a reroute or a follow-up.
SETTABLE = (CaseStatus.WAITING, CaseStatus.CLOSED, CaseStatus.ROUTED)


@dataclass(frozen=True, slots=True)
class Staff:
    """Who acts: recorded on every event."""

    email: str
    name: str


class ConsoleDesk:
    def __init__(self, db: Database, live: LiveConfig, planner: Planner, desk: StaffDesk) -> None:
        self._db = db
        self._live = live
        self._planner = planner
        self._desk = desk

    def answer(self, code: str, text: str, staff: Staff, now: datetime) -> bool:
        """Answer case *code*; whether the answer was relayed to the resident (a case without an
        address, or over the per-case limit, keeps it recorded only)."""
        with self._db.write() as conn:
            case = self._case(conn, code)
            return self._desk.record_answer(
                conn,
                case,
                text,
                (),
                now,
                author=staff.email,
                author_name=staff.name,
                accepted_as="the console",
            )

    def reroute(self, code: str, department: str, why: str, staff: Staff, now: datetime) -> None:
        """Send case *code* to *department* (UnknownDepartment when there is none)."""
        with self._db.write() as conn:
            case = self._case(conn, code)
            reroute_case(
                conn, self._live.current, self._planner, case, department, actor=staff.email, why=why, now=now
            )

    def set_status(self, code: str, status: CaseStatus, why: str, staff: Staff, now: datetime) -> Case:
        """Set waiting (the answer clock pauses), closed, or back to being handled."""
        if status not in SETTABLE:
            raise ValueError(f"status {status} is not set by hand")
        with self._db.write() as conn:
            case = self._case(conn, code)
            text = f"status {case.status} -> {status}" + (f": {why}" if why else "")
            case_store.insert_event(conn, case.id, EventKind.NOTE, now, actor=staff.email, text=text)
            return set_status(conn, case, status, now, self._live.current)

    def note(self, code: str, text: str, staff: Staff, now: datetime) -> None:
        """An internal note: on the case for staff, never sent to the resident or published."""
        with self._db.write() as conn:
            case = self._case(conn, code)
            case_store.insert_event(
                conn, case.id, EventKind.NOTE, now, actor=staff.email, text=text, data={"internal": True}
            )
            case_store.update_case(conn, case.id, updated_at=now)

    @staticmethod
    def _case(conn: Connection, code: str) -> Case:
        case = case_store.get_case(conn, code=code)
        if case is None:
            raise NoSuchCase(f"no case {code}")
        return case
