"""What staff do from the console (issue 18), against a running daemon: an answer goes out exactly as a
mailed one (from the city, threaded, the handler's name taken out), a reroute hands the case over anew,
a status change and an internal note are recorded with who; the resident never sees a note."""

from __future__ import annotations

import pytest

from gateway.casework.console import Staff
from gateway.errors import NoSuchCase, UnknownDepartment
from gateway.model import CaseStatus
from tests.support.conversation import mail_to, text_of
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, events_of, settled
from tests.test_staff_answers import RESIDENT, _open

LIISA = Staff("liisa.virtanen@hel.example", "Liisa Virtanen")


def test_an_answer_from_the_console_goes_out_like_a_mailed_one(gateway: RunningDaemon) -> None:
    case, _ = _open(gateway)
    text = "Hei,\n\nLiisa Virtanen käy tarkistamassa tilanteen huomenna.\n\nTerveisin\nLiisa Virtanen\n"
    assert gateway.parts.console.answer(case.code, text, LIISA, gateway.clock())
    [answer] = wait_for(lambda: [m for m in mail_to(gateway.maildir, RESIDENT) if "huomenna" in text_of(m)])
    body = text_of(answer)
    assert "Liisa" not in body and "Virtanen" not in body and "tarkistamassa tilanteen huomenna" in body
    assert str(answer["From"]).endswith("<palaute@hel.example>")
    assert str(answer["In-Reply-To"]).strip("<>") == case.message_id  # threaded on the resident's mail
    [stored] = all_cases(gateway.db)
    assert stored.status == "answered"
    event = [e for e in events_of(gateway.db, case.id) if e.kind == "answer"][-1]
    assert event.actor == LIISA.email and event.data["accepted_as"] == "the console"


def test_reroute_status_and_internal_note_are_recorded_with_who(gateway: RunningDaemon) -> None:
    case, _ = _open(gateway)
    console = gateway.parts.console
    console.reroute(case.code, "kirjaamo", "ei meidän asiamme", LIISA, gateway.clock())
    wait_for(lambda: mail_to(gateway.maildir, "kirjaamo@hel.example"), what="the new hand-over")
    waiting = console.set_status(case.code, CaseStatus.WAITING, "kysytty lisätietoja", LIISA, gateway.clock())
    assert waiting.status is CaseStatus.WAITING
    console.note(case.code, "Soitin asukkaalle, ei vastannut.", LIISA, gateway.clock())
    events = events_of(gateway.db, case.id)
    assert [e.kind for e in events][-3:] == ["rerouted", "note", "note"]
    assert {e.actor for e in events[-3:]} == {LIISA.email}
    assert events[-1].data == {"internal": True}
    wait_for(lambda: settled(gateway.db), what="the outbox")
    assert not [m for m in mail_to(gateway.maildir, RESIDENT) if "Soitin" in text_of(m)]


def test_unknown_cases_departments_and_statuses_are_refused(gateway: RunningDaemon) -> None:
    case, _ = _open(gateway)
    console = gateway.parts.console
    with pytest.raises(NoSuchCase):
        console.note("HEL-0000-0000", "x", LIISA, gateway.clock())
    with pytest.raises(UnknownDepartment):
        console.reroute(case.code, "no-such-office", "x", LIISA, gateway.clock())
    with pytest.raises(ValueError, match="not set by hand"):
        console.set_status(case.code, CaseStatus.ANSWERED, "", LIISA, gateway.clock())
