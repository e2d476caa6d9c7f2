"""The attacks of issue 18 on the staff console, the open column and the feed, against a real daemon over
HTTP, that no other module tests already:

- stored XSS: a resident's text, name and subject carrying `<script>`, `<img onerror>` and
  `"><svg onload>` payloads, sent through the form and by mail, are text and never markup in the console's
  queue and case page, the column's list, the case's public page and the Atom feed (well-formed XML, the
  payload a text node of a `type="text"` element);
- CSRF on answer, reroute and publish with the forgeries a cross-site page can make: no token, the token of
  the attacker's own session, the login form's token, the right token in the query string (where it leaks
  through logs and Referer) and in a `text/plain` or JSON body; nothing changes, and the genuine request
  then works;
- user changes: staff accounts are managed only by the `gateway user` command (tests/test_cli_users.py),
  so the test is that no route of the app is a user page and none changes an account, whatever an admin
  posts to it with a valid token;
- a handler at another department's case: the page, each of the four actions and the attachment download
  are refused with 403 and nothing changes; an attachment id of that case through the handler's own case
  shows nothing either (the page and the answer alone: test_console.py::
  test_a_handler_cannot_open_or_act_on_another_department_s_case);
- password guessing: once the limit is reached, an unknown account is answered exactly as a real one.

Tested elsewhere and not repeated here:
- session fixation (a planted cookie is never the session after login; a live session the browser came
  with ends): test_staff_auth.py::test_login_makes_a_new_session_whatever_cookie_the_browser_came_with;
- password guessing rate-limited per account, all at once and per client address, and an unknown account,
  a disabled one and a wrong password answered with the same status, body (but the CSRF token) and cookie
  after the same argon2 work: test_staff_auth.py::test_login_failures_are_limited_per_account,
  ::test_guesses_sent_all_at_once_do_not_pass_the_account_limit,
  ::test_login_failures_are_limited_per_client_address,
  ::test_wrong_password_unknown_account_and_disabled_account_get_the_same_page_after_the_same_work;
- a missing or wrong CSRF token on every unsafe staff route (status only), login CSRF, logout:
  test_staff_auth.py::test_every_state_changing_staff_route_refuses_a_missing_or_wrong_csrf_token,
  ::test_a_login_form_from_elsewhere_is_refused, ::test_logout_needs_the_sessions_csrf_token; publish,
  withdraw and apply without a token, nothing published:
  test_moderation.py::test_publish_and_withdraw_without_the_session_csrf_token_are_refused;
- a handler or an agent at the moderation pages:
  test_moderation.py::test_a_handler_or_an_agent_is_forbidden_every_moderation_page;
- markup in a mailed text in the queue and case page (string checks), in the moderation page, and in a
  published question in the column, page and feed: test_console.py::
  test_a_handler_sees_its_queue_opens_its_case_and_answers_from_the_console,
  test_moderation.py::test_markup_in_the_residents_text_and_name_is_shown_escaped,
  test_column.py::test_a_published_question_with_markup_is_shown_as_text_everywhere.
"""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.header import Header
from email.message import EmailMessage
from email.utils import make_msgid
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy import func, select

from gateway.casework.console import Staff as Actor
from gateway.casework.moderation import Moderation
from gateway.store.tables import attachments, case_events, cases, outbox, user_departments, users
from gateway.web.app import build_app
from gateway.web.staff.session import COOKIE
from tests.support.conversation import mail_to
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, make_mail, send
from tests.web.test_console import RESIDENT, as_user, parking_case
from tests.web.test_form import case_row, code_of, post
from tests.web.test_moderation import publication
from tests.web.test_staff_auth import CSRF, add_user, fill, login, login_form, staff_routes, url, walk

ATOM = "{http://www.w3.org/2005/Atom}"
SCRIPT = "<script>alert('xss-script')</script>"
IMG = '<img src=x onerror=alert("xss-img")>'
SVG = '"><svg onload=alert(`xss-svg`)>'
BREAKOUT = "</textarea></title><script>alert(4)</script>"
PAYLOADS = (SCRIPT, IMG, SVG, BREAKOUT)
TEXT = f"Puiston penkki on rikki. {SCRIPT} Naulat {IMG} törröttävät. {SVG} Loppu {BREAKOUT}"
NAME = f"Matti {SVG}{IMG}"
SUBJECT = f"Penkki {SCRIPT}{SVG}"
MODERATOR = "moderaattori@hel.example"


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(web_posts_per_client_per_minute=0)  # the small test city of tests/fixtures


@pytest.fixture
def client(web: RunningDaemon) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url(web), follow_redirects=False) as c:
        yield c


# -- stored XSS ----------------------------------------------------------------------------------------------


class Page(HTMLParser):
    """An HTML page as a tokenizer reads it: its elements with their attributes, the text inside its
    script elements, and the text a reader sees (character references resolved)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)


def assert_inert(html: str, where: str, shown: tuple[str, ...] = PAYLOADS) -> None:
    """No payload became an element, an event handler or a script on the page, and each of *shown* is
    there as text."""
    page = Page(html)
    handlers = [(tag, name) for tag, attrs in page.elements for name in attrs if name.startswith("on")]
    assert handlers == [], where
    assert [tag for tag, _ in page.elements if tag == "svg"] == [], where
    assert [a for tag, a in page.elements if tag == "img" and a.get("src") == "x"] == [], where
    assert [s for s in page.scripts if "alert" in s] == [], where
    text = "".join(page.text)
    assert [p for p in shown if p not in text] == [], where


def assert_feed_inert(feed: bytes, code: str) -> None:
    """The feed is well-formed XML, no element of it is markup of the payloads, and the entry's title and
    content are plain text holding the payloads as written."""
    root = ET.fromstring(feed)
    names = {element.tag.rpartition("}")[2] for element in root.iter()}
    assert not names & {"script", "img", "svg", "div"}, names
    assert not [a for element in root.iter() for a in element.attrib if a.lower().startswith("on")]
    [entry] = [e for e in root.findall(f"{ATOM}entry") if (e.findtext(f"{ATOM}id") or "").endswith(code)]
    content, title = entry.find(f"{ATOM}content"), entry.find(f"{ATOM}title")
    assert content is not None and title is not None
    assert content.get("type", "text") == "text" and title.get("type", "text") == "text"
    assert [p for p in PAYLOADS if p not in (content.text or "")] == []


def mailed_case(web: RunningDaemon) -> str:
    """A mail whose display name, subject and text carry the payloads. Written by hand: Python's email
    package writes such a display name back unquoted, and the From line would not parse at all; a mail
    program sends it as encoded words."""
    raw = (
        f"From: {Header(NAME, 'utf-8').encode(linesep='')} <matti@example.fi>\r\n"
        f"To: palaute@hel.example\r\nSubject: {SUBJECT}\r\nMessage-ID: {make_msgid(domain='example.fi')}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
        f"\r\n{TEXT}\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", web.port, timeout=30) as smtp:
        smtp.sendmail("matti@example.fi", ["palaute@hel.example"], raw)
    [case] = wait_for(lambda: all_cases(web.db), what="the case")
    return str(case.code)


@pytest.mark.parametrize("channel", ["form", "mail"])
def test_a_residents_markup_is_only_text_in_the_console_the_column_and_the_feed(
    web: RunningDaemon, client: httpx.Client, channel: str
) -> None:
    if channel == "form":
        code = code_of(post(web, text=TEXT, name=NAME, email="matti@example.fi", consent="yes"))
    else:
        code = mailed_case(web)
    row: Any = case_row(web, code)
    assert row.resident_name and "<" in row.resident_name  # stored as written: escaping is the pages' work
    as_user(web, client, "admin@hel.example", "admin")
    queue = client.get("/staff/queues", params={"q": code})
    assert queue.status_code == 200 and f">{code}</a>" in queue.text
    assert_inert(queue.text, "queue", shown=(SCRIPT, SVG) if channel == "mail" else (SCRIPT,))  # a subject
    page = client.get(f"/staff/cases/{code}")
    assert page.status_code == 200
    assert_inert(page.text, "case page", shown=(*PAYLOADS, NAME))

    # the moderator leaves the resident's text as it is: the column must show it as text
    web.parts.console.answer(code, f"Korjattu. {IMG}", Actor("liisa@hel.example", "Liisa"), web.clock())
    Moderation(web.db).publish(code, row.text, f"Korjattu. {IMG}", (), MODERATOR, web.clock())
    column = httpx.get(url(web, "/open"))
    assert column.status_code == 200 and code in column.text
    assert_inert(column.text, "column")
    public = httpx.get(url(web, f"/open/{code}"))
    assert public.status_code == 200
    assert_inert(public.text, "public page")
    assert "Matti" not in public.text and "Matti" not in column.text  # the name is never public at all
    feed = httpx.get(url(web, "/open/feed.atom"))
    assert feed.status_code == 200
    assert_feed_inert(feed.content, code)


# -- CSRF ----------------------------------------------------------------------------------------------------


def case_state(web: RunningDaemon, code: str) -> tuple[Any, ...]:
    """What a forged request could change: the case's status and department, its events, its mail and
    its publication."""
    with web.db.read() as conn:
        case = conn.execute(select(cases).where(cases.c.code == code)).one()
        n_events = conn.execute(
            select(func.count()).select_from(case_events).where(case_events.c.case_id == case.id)
        ).scalar_one()
        n_mail = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.case_id == case.id)
        ).scalar_one()
    return case.status, case.department, n_events, n_mail, publication(web, code)


ACTIONS = {  # the form each action's page sends, and the page it posts to
    "answer": ("/staff/cases/{code}/answer", {"text": "Vastaus, jota asukas ei koskaan pyytänyt."}),
    "reroute": ("/staff/cases/{code}/reroute", {"department": "kirjaamo", "why": "väärennetty siirto"}),
    "publish": ("/staff/moderation/{code}/publish", {"question": "Penkki on rikki.", "answer": "Korjattu."}),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_forged_answer_reroute_or_publish_changes_nothing(
    web: RunningDaemon, client: httpx.Client, action: str
) -> None:
    code = parking_case(web, body="Auto on pysäköity suojatielle jo kolmatta päivää, siirtäkää se.")
    if action == "publish":
        web.parts.console.answer(code, "Auto siirrettiin.", Actor("liisa@hel.example", "L"), web.clock())
    role, departments = {"publish": ("moderator", ())}.get(action, ("handler", ("pysakointi",)))
    token = as_user(web, client, f"victim-{action}@hel.example", role, departments)
    with httpx.Client(base_url=url(web)) as attacker, httpx.Client(base_url=url(web)) as stranger:
        own = as_user(web, attacker, "attacker@hel.example", role, departments)  # the attacker's own session
        login_token = login_form(stranger)  # a login form's token: bound to another cookie, another purpose
    path, fields = ACTIONS[action]
    path = path.format(code=code)
    before = case_state(web, code)
    form = "application/x-www-form-urlencoded"
    forgeries: list[dict[str, Any]] = [
        {"data": fields},
        {"data": {**fields, "csrf": ""}},
        {"data": {**fields, "csrf": own}},
        {"data": {**fields, "csrf": login_token}},
        {"data": {**fields, "csrf": token + "x"}},
        {"data": fields, "params": {"csrf": token}},  # in the URL: it leaks through logs and Referer
        {"content": "&".join(f"{k}={v}" for k, v in {**fields, "csrf": token}.items()),
         "headers": {"content-type": "text/plain"}},  # what <form enctype="text/plain"> sends cross-site
        {"content": json.dumps({**fields, "csrf": token}), "headers": {"content-type": "application/json"}},
        {"data": {**fields, "csrf": own}, "headers": {"x-csrf-token": own, "content-type": form}},
    ]  # fmt: skip
    for forged in forgeries:
        answer = client.post(path, **forged)
        assert answer.status_code == 403, forged
        assert "Lomaketta ei voitu tarkistaa" in answer.text, forged
    assert case_state(web, code) == before
    assert client.cookies[COOKIE] and client.get("/staff/").status_code == 200  # still logged in

    genuine = client.post(path, data={**fields, "csrf": token})
    assert genuine.status_code == 303 and "problem" not in genuine.headers["location"]
    assert case_state(web, code) != before


# -- user changes --------------------------------------------------------------------------------------------


def accounts(web: RunningDaemon) -> list[tuple[Any, ...]]:
    with web.db.read() as conn:
        rows = conn.execute(select(users).order_by(users.c.id)).all()
        scopes = conn.execute(select(user_departments).order_by(*user_departments.c)).all()
    return [tuple(r) for r in rows] + [tuple(s) for s in scopes]


def test_no_web_route_changes_a_staff_account(web: RunningDaemon, client: httpx.Client) -> None:
    """Users are added, disabled and given passwords only with `gateway user ...` on the server
    (gateway/cli/, tests/test_cli_users.py): the console has no page for it. So CSRF on user changes is
    moot; what is tested is that no route of the app, posted to by an admin with the session's own token
    and every field a user form might have, changes any account, and that none is named like one."""
    token = as_user(web, client, "admin@hel.example", "admin")
    victim = add_user(web, "hanna@hel.example", "handler", ("talvi",), name="Hanna")
    every = [fill(p) for p, _ in walk(build_app(web.parts.web).routes)]
    assert not [p for p in every if any(w in p.lower() for w in ("user", "account", "password", "role"))]
    routes = staff_routes(web)
    change = {
        "email": "hanna@hel.example", "new_email": "attacker@evil.example", "name": "Pwned",
        "role": "admin", "department": "kirjaamo", "departments": "kirjaamo",
        "password": "attacker-pass-1234", "new_password": "attacker-pass-1234", "disabled": "1",
        "user_id": str(victim.id), "id": str(victim.id),
    }  # fmt: skip
    before = accounts(web)
    guessed = [
        "/staff/users", "/staff/users/add", f"/staff/users/{victim.id}", f"/staff/users/{victim.id}/disable",
        "/staff/admin/users", "/staff/user", "/staff/account", "/staff/password",
    ]  # fmt: skip
    unsafe = [
        (path, method)
        for path, methods in routes
        for method in sorted(methods & {"POST", "PUT", "PATCH", "DELETE"})
        if path not in ("/staff/login", "/staff/logout")
    ] + [(path, "POST") for path in guessed]
    done = {}
    for path, method in unsafe:
        answer = client.request(method, path, data={**change, "csrf": token})
        refused = "problem=" in answer.headers.get("location", "")  # withdraw: sent back with a problem
        if answer.status_code not in (400, 404, 405) and not (answer.status_code == 303 and refused):
            done[method, path] = answer.status_code
    assert done == {}  # each route refused the form it got, or there was no such page
    assert accounts(web) == before
    with httpx.Client(base_url=url(web)) as someone:
        assert login(someone, "hanna@hel.example", "attacker-pass-1234").status_code == 400
    assert client.get("/staff/").status_code == 200  # the admin is still who they were


# -- another department's case -------------------------------------------------------------------------------


def mailed_with_attachment(web: RunningDaemon, subject: str, body: str, to_department: str) -> str:
    msg: EmailMessage = make_mail(subject=subject, body=body)
    msg.add_attachment(b"%PDF-1.4 salainen liite " + subject.encode(), maintype="application",
                       subtype="pdf", filename="liite.pdf")  # fmt: skip
    before = len(mail_to(web.maildir, to_department))
    send(web.port, msg)
    wait_for(lambda: len(mail_to(web.maildir, to_department)) > before, what="the hand-over")
    with web.db.read() as conn:
        return str(conn.execute(select(cases.c.code).order_by(cases.c.id.desc())).scalars().first())


def attachment_of(web: RunningDaemon, code: str) -> int:
    with web.db.read() as conn:
        return int(
            conn.execute(
                select(attachments.c.id)
                .join(cases, cases.c.id == attachments.c.case_id)
                .where(cases.c.code == code)
            ).scalar_one()
        )


def test_a_handler_is_refused_another_departments_case_its_actions_and_its_attachment(
    web: RunningDaemon, client: httpx.Client
) -> None:
    theirs = mailed_with_attachment(
        web, "Pysäköinti", "Auto on pysäköity suojatielle jo kolmatta päivää.", "pysakointi@hel.example"
    )
    mine = mailed_with_attachment(
        web,
        "Lumi",
        "Katu on auraamatta ja lunta on puoli metriä, auratkaa pian.",
        "talvi@urakoitsija.example",
    )
    assert case_row(web, theirs).department == "pysakointi"  # type: ignore[attr-defined]
    assert case_row(web, mine).department == "talvi"  # type: ignore[attr-defined]
    token = as_user(web, client, "talvi-kasittelija@hel.example", "handler", ("talvi",))
    their_file, my_file = attachment_of(web, theirs), attachment_of(web, mine)
    assert client.get(f"/staff/cases/{mine}/attachments/{my_file}").status_code == 200  # the control
    before = case_state(web, theirs)

    page = client.get(f"/staff/cases/{theirs}")
    assert page.status_code == 403 and "suojatielle" not in page.text
    download = client.get(f"/staff/cases/{theirs}/attachments/{their_file}")
    assert download.status_code == 403 and b"salainen" not in download.content
    assert client.get(f"/staff/cases/{theirs}/attachments/{their_file + 1000}").status_code == 403
    through_mine = client.get(f"/staff/cases/{mine}/attachments/{their_file}")  # another case's id
    assert through_mine.status_code == 404 and b"salainen" not in through_mine.content
    actions = {
        "answer": {"text": "Minä vastaan silti."},
        "reroute": {"department": "talvi", "why": "otan tämän itselleni"},  # taking the case over
        "status": {"status": "closed", "why": "suljen"},
        "note": {"text": "Kävin kurkkaamassa."},
    }
    for action, fields in actions.items():
        refused = client.post(f"/staff/cases/{theirs}/{action}", data={**fields, "csrf": token})
        assert refused.status_code == 403, action
    assert case_state(web, theirs) == before
    found = client.get("/staff/queues", params={"q": RESIDENT}).text  # both residents' address
    assert mine in found and theirs not in found


# -- password guessing ---------------------------------------------------------------------------------------


def test_a_rate_limited_unknown_account_is_answered_like_a_rate_limited_real_one(web: RunningDaemon) -> None:
    """The limit itself must not tell which addresses have accounts: an unknown one is counted and
    refused like a real one, with the same status, body (but the token), and Retry-After."""
    add_user(web, "real@hel.example")
    answers: dict[str, list[httpx.Response]] = {}
    for who in ("real@hel.example", "nobody@hel.example"):
        with httpx.Client(base_url=url(web)) as guesser:
            answers[who] = [login(guesser, who, "guess guess guess") for _ in range(6)]
    real, unknown = answers["real@hel.example"], answers["nobody@hel.example"]
    assert [a.status_code for a in real] == [a.status_code for a in unknown] == [400] * 5 + [429]
    assert CSRF.sub("", real[-1].text) == CSRF.sub("", unknown[-1].text)
    assert abs(int(real[-1].headers["retry-after"]) - int(unknown[-1].headers["retry-after"])) <= 2
    web.clock.advance(timedelta(minutes=15, seconds=1))
    with httpx.Client(base_url=url(web)) as later:
        assert login(later, "real@hel.example").status_code == 303
