"""The staff console against a real daemon (issue 18): phone and walk-in entry, the queues and the case
page with its actions, a handler's scope, escaping of what residents wrote, CSRF on every action."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.conversation import mail_to, text_of
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, events_of, make_mail, send
from tests.web.test_staff_auth import CSRF, add_user, login, url

RESIDENT = "matti@example.fi"
ATTACK = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture
def client(gateway: RunningDaemon) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url(gateway), follow_redirects=False) as c:
        yield c


def as_user(
    gw: RunningDaemon, client: httpx.Client, email: str, role: str, departments: tuple[str, ...] = ()
) -> str:
    """Log in; the session's CSRF token."""
    add_user(gw, email, role, departments, name="Liisa Virtanen")  # type: ignore[arg-type]
    assert login(client, email).status_code == 303
    found = CSRF.search(client.get("/staff/").text)
    assert found is not None
    return found.group(1)


def parking_case(gw: RunningDaemon, body: str = "Auto on pysäköity suojatielle jo kolmatta päivää.") -> str:
    send(gw.port, make_mail(subject="Pysäköinti", body=body))
    wait_for(lambda: mail_to(gw.maildir, "pysakointi@hel.example"), what="the hand-over")
    return str(all_cases(gw.db)[-1].code)


def test_an_agent_enters_a_phone_call_and_reads_the_code_aloud(
    gateway: RunningDaemon, client: httpx.Client
) -> None:
    csrf = as_user(gateway, client, "agentti@hel.example", "agent")
    form = client.get("/staff/entry")
    assert form.status_code == 200 and "Kirjaa puhelu tai käynti" in form.text
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    data = {
        "csrf": csrf, "nonce": nonce, "channel": "phone", "desk": "Kaupunkiympäristön puhelinpalvelu",
        "text": "Soittaja kertoo, että auto on pysäköity suojatielle Kalliossa.", "email": RESIDENT,
        "name": "Matti Meikäläinen",
    }  # fmt: skip
    sent = client.post("/staff/entry", data=data)
    assert sent.status_code == 303
    again = client.post("/staff/entry", data=data)  # a double click: the same case
    assert again.headers["location"] == sent.headers["location"]
    page = client.get(sent.headers["location"])
    code = re.search(r'id="tracking-code">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    [case] = wait_for(lambda: all_cases(gateway.db), what="the case")
    assert case.code == code and case.channel == "phone" and case.resident_email == RESIDENT
    opened = events_of(gateway.db, case.id)[0]
    assert opened.data == {"entered_by": "agentti@hel.example", "desk": "Kaupunkiympäristön puhelinpalvelu"}
    wait_for(
        lambda: [m for m in mail_to(gateway.maildir, RESIDENT) if code in str(m["Subject"])], what="receipt"
    )


def test_a_handler_sees_its_queue_opens_its_case_and_answers_from_the_console(
    gateway: RunningDaemon, client: httpx.Client
) -> None:
    code = parking_case(gateway, body=f"Auto suojatiellä. {ATTACK}")
    csrf = as_user(gateway, client, "kasittelija@hel.example", "handler", ("pysakointi",))
    queue = client.get("/staff/queues")
    assert queue.status_code == 200 and code in queue.text and "<script>alert(1)" not in queue.text
    page = client.get(f"/staff/cases/{code}")
    assert page.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    text = "Hei,\n\nValvoja käy paikalla tänään.\n\nTerveisin\nLiisa Virtanen\npysäköinninvalvonta"
    answered = client.post(f"/staff/cases/{code}/answer", data={"csrf": csrf, "text": text})
    assert answered.status_code == 303 and "done=answered" in answered.headers["location"]
    [mail] = wait_for(lambda: [m for m in mail_to(gateway.maildir, RESIDENT) if "tänään" in text_of(m)])
    assert "Liisa" not in text_of(mail) and "Virtanen" not in text_of(mail)
    assert [c.status for c in all_cases(gateway.db)] == ["answered"]


def test_a_handler_cannot_open_or_act_on_another_department_s_case(
    gateway: RunningDaemon, client: httpx.Client
) -> None:
    code = parking_case(gateway)
    csrf = as_user(gateway, client, "talvi-kasittelija@hel.example", "handler", ("talvi",))
    assert code not in client.get("/staff/queues").text
    assert client.get(f"/staff/cases/{code}").status_code == 403
    refused = client.post(f"/staff/cases/{code}/answer", data={"csrf": csrf, "text": "Minä vastaan silti."})
    assert refused.status_code == 403
    assert f"/staff/cases/{code}" not in client.get(f"/staff/queues?q={code}").text
    assert [c.status for c in all_cases(gateway.db)] == ["routed"]


def test_reroute_status_and_note_from_the_case_page(gateway: RunningDaemon, client: httpx.Client) -> None:
    code = parking_case(gateway)
    csrf = as_user(gateway, client, "agentti@hel.example", "agent")
    no_reason = client.post(f"/staff/cases/{code}/reroute", data={"csrf": csrf, "department": "kirjaamo"})
    assert "problem=no-reason" in no_reason.headers["location"]
    moved = client.post(
        f"/staff/cases/{code}/reroute", data={"csrf": csrf, "department": "kirjaamo", "why": "x"}
    )
    assert "done=rerouted" in moved.headers["location"]
    waiting = client.post(f"/staff/cases/{code}/status", data={"csrf": csrf, "status": "waiting", "why": "?"})
    assert "done=status" in waiting.headers["location"]
    noted = client.post(f"/staff/cases/{code}/note", data={"csrf": csrf, "text": "Soitettu, ei vastausta."})
    assert "done=noted" in noted.headers["location"]
    [case] = all_cases(gateway.db)
    assert (case.department, case.status) == ("kirjaamo", "waiting")
    assert [e.actor for e in events_of(gateway.db, case.id)][-3:] == ["agentti@hel.example"] * 3
    page = client.get(f"/staff/cases/{code}")
    assert "Soitettu, ei vastausta." in page.text and "sisäinen, ei näy asukkaalle" in page.text
    assert client.post(f"/staff/cases/{code}/note", data={"text": "ilman tunnistetta"}).status_code == 403


def test_the_queues_count_search_and_parked(gateway: RunningDaemon, client: httpx.Client) -> None:
    code = parking_case(gateway)
    as_user(gateway, client, "admin@hel.example", "admin")
    page = client.get("/staff/queues?queue=open")
    assert 'Avoimet <span class="count">(1)</span>' in page.text
    assert code in client.get(f"/staff/queues?q={code.lower()}").text
    assert code in client.get(f"/staff/queues?q={RESIDENT}").text
    assert code not in client.get("/staff/queues?q=lumikasa").text
    assert client.get("/staff/parked").status_code == 200
