"""Issue 18 end to end in a real headless Chromium, as one story: an agent enters a phone call whose text
plants an email address, a Finnish phone number and an identity code (with its right check character),
with the resident's email, and reads the code; a handler of the office it was routed to finds it and
answers it from the console, and the answer mail is in the maildir, in the receipt's thread and without
the handler's name or address; a moderator is offered the three redactions, accepts them and publishes;
then the open column, the case's public page, the Atom feed and Open311's listing and request show the
moderated texts and none of the planted data. A screenshot of every page it passes through is saved as
var/screenshots/story-*.png (the login page once: the handler's and the moderator's are the same page);
axe-core's WCAG 2.1 AA check runs on the login page, the column, and the console pages (entry, entered,
queue, case page, moderation list and case). The console pages are read as the secretary reads them: the
entry form in the staff's words, who entered the call and at which desk on the case page, an answer said
to be on its way (not sent) while its mail waits, and one frame for every staff page.

test_moderation_browser.py tests redaction and publishing, with a photo, on a case made through the form;
here the case the moderator publishes is the one the agent entered, and every public view is read after.

Two tests without a browser follow the story, each for a defect it showed (both fixed): the answer
named no mail the resident had in its thread headers, and Open311 showed the place as it was typed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from email.message import Message
from xml.etree import ElementTree as ET

import httpx
import pytest
from playwright.sync_api import Page

from gateway.casework.console import Staff as Actor
from gateway.casework.moderation import Moderation
from tests.support.browser import VIEWPORT, PageMaker, screenshot
from tests.support.conversation import mail_to, readable, text_of
from tests.support.daemon import RunningDaemon, wait_for
from tests.web.test_browser import assert_accessible, label
from tests.web.test_console import as_user
from tests.web.test_form import SHIPPED, case_row, url
from tests.web.test_staff_auth import PASSWORD, add_user

ATOM = "{http://www.w3.org/2005/Atom}"
RESIDENT = "maija.asukas@example.fi"  # the address the resident gives for the answer
# What the resident says aloud and the agent types in: an address, a mobile number and a valid henkilötunnus
# (210488-316: 210488316 mod 31 is 21, the check character "N").
EMAIL, PHONE, HETU = "maija.kotiosoite@posti.example", "050 765 4321", "210488-316N"
PLANTED = (EMAIL, PHONE, HETU)
CALL = (
    "Soittaja kertoo, että Kaivopuiston leikkipaikan penkki on rikki ja siitä törröttää nauloja. "
    f"Hän toivoo yhteydenottoa numeroon {PHONE} tai osoitteeseen {EMAIL}. "
    f"Korvausasiaa varten hän antoi henkilötunnuksensa {HETU}."
)
REDACTED = (
    "Soittaja kertoo, että Kaivopuiston leikkipaikan penkki on rikki ja siitä törröttää nauloja. "
    "Hän toivoo yhteydenottoa numeroon [puhelinnumero] tai osoitteeseen [sähköposti]. "
    "Korvausasiaa varten hän antoi henkilötunnuksensa [henkilötunnus]."
)
HANDLER, HANDLER_NAME = "hanna.kasittelija@hel.example", "Hanna Käsittelijä"
MODERATOR = "mona.moderaattori@hel.example"
ANSWER = "Hei,\n\nPenkki korjataan huomenna ja naulat poistetaan.\n\nTerveisin\nHanna Käsittelijä"


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED)


def log_in(page: Page, web: RunningDaemon, email: str) -> None:
    page.goto(url(web, "/staff/login"))
    page.get_by_label("Sähköposti").fill(email)
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu sisään").click()
    page.wait_for_url(re.compile(r"/staff/$"))


# The width of the header's bar, the page and the footer's text: one frame on every staff page.
FRAME = """() => ['header.site .bar', 'main', 'footer.site p'].map(selector => {
    const e = document.querySelector(selector), css = getComputedStyle(e);
    return Math.round(e.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight));
})"""
# The tables that do not fit their box at this window's width (they scroll sideways in it).
CROPPED = """() => [...document.querySelectorAll('.table-scroll')]
    .filter(box => box.scrollWidth > box.clientWidth)
    .map(box => box.querySelector('caption, th').textContent)"""
# Whether the logout button shares a line with something else in the staff bar.
LOGOUT_NOT_ALONE = """() => {
    const bar = document.querySelector('.staff-bar');
    const button = [...bar.querySelectorAll('button')].find(b => b.textContent.trim() === 'Kirjaudu ulos');
    const mine = button.getBoundingClientRect();
    return [...bar.querySelectorAll('a, p, strong')].some(e => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.top < mine.bottom && r.bottom > mine.top;
    });
}"""


def assert_staff_frame(page: Page, width: int, narrow_shot: str = "") -> None:
    """The header, the page and the footer are as wide as on every other staff page (the queue and the
    moderation list were wider than the rest), a table fits it in the test's window, and "Kirjaudu ulos"
    is not alone on a line, neither at the test's window nor at a phone's."""
    assert page.evaluate(FRAME) == [width] * 3, page.url
    assert page.evaluate(CROPPED) == [], page.url  # the frame is wide enough for the case tables
    assert page.evaluate(LOGOUT_NOT_ALONE), page.url
    page.set_viewport_size({"width": 400, "height": 900})
    try:
        assert page.evaluate(LOGOUT_NOT_ALONE), f"{page.url} at 400 px"
        if narrow_shot:
            shot(page, narrow_shot)
    finally:
        page.set_viewport_size(VIEWPORT)


def shot(page: Page, name: str) -> None:
    screenshot(page, f"story-{name}")


def receipt_to_resident(web: RunningDaemon, code: str) -> Message:
    def find() -> list[Message]:
        return [
            m for m in mail_to(web.maildir, RESIDENT)
            if code in str(m["Subject"]) and m["Auto-Submitted"] == "auto-replied"
        ]  # fmt: skip

    [receipt] = wait_for(find, what="the receipt to the resident")
    return receipt


def thread_ids(msg: Message) -> set[str]:
    return {str(msg["In-Reply-To"]).strip(), *str(msg["References"]).split()} - {"None"}


def assert_same_thread(receipt: Message, answer: Message) -> None:
    """The answer is in the receipt's thread however a mail program builds threads: the resident of a
    phone call sent no mail, so the receipt is the first of the conversation in their mailbox, and the
    answer names it in In-Reply-To and References. The submission's own made-up Message-ID is named by
    neither (a parent nobody has; `.invalid`)."""
    receipt_id = str(receipt["Message-ID"]).strip()
    assert str(answer["In-Reply-To"]).strip() == receipt_id
    assert receipt_id in str(answer["References"]).split()
    assert not [i for i in thread_ids(receipt) | thread_ids(answer) if i.endswith(".invalid>")]
    assert answer["Message-ID"] != receipt["Message-ID"]


def assert_public(text: str, where: str) -> None:
    """*text* shows the moderated question and the answer, and nothing planted or personal."""
    assert "[puhelinnumero]" in text and "[sähköposti]" in text and "[henkilötunnus]" in text, where
    assert "Penkki korjataan huomenna" in text, where
    leaked = [p for p in (*PLANTED, "765 4321", "316N", RESIDENT, HANDLER, HANDLER_NAME) if p in text]
    assert leaked == [], where


def test_a_phone_call_is_entered_answered_moderated_and_published_without_what_was_planted(
    web: RunningDaemon, make_page: PageMaker
) -> None:
    # -- the agent enters the call ---------------------------------------------------------------------
    add_user(web, "aino.agentti@hel.example", "agent", name="Aino Agentti")
    agent = make_page()
    agent.goto(url(web, "/staff/"))
    agent.wait_for_url(re.compile(r"/staff/login"))
    agent.get_by_label("Sähköposti").fill("aino.agentti@hel.example")
    agent.get_by_label("Salasana").fill(PASSWORD)
    shot(agent, "01-login")
    assert_accessible(agent)
    agent.get_by_role("button", name="Kirjaudu sisään").click()
    agent.wait_for_url(re.compile(r"/staff/$"))
    shot(agent, "02-agent-home")
    agent.get_by_role("link", name="Kirjaa puhelu tai käynti").first.click()
    agent.get_by_role("radio", name="Puhelin").check()
    agent.get_by_label("Asiointipiste tai toimipaikka").fill("Kaupunkiympäristön puhelinpalvelu")
    agent.get_by_label(label("Asukkaan palaute")).fill(CALL)
    agent.get_by_label(label("Sähköposti")).fill(RESIDENT)
    agent.get_by_label(re.compile("^Asukas antoi luvan julkaista")).check()  # the caller allowed publishing
    form = agent.locator("main").inner_text()
    assert "Asukkaan yhteystiedot" in form and "Asukas saa jäädä nimettömäksi" in form
    # the resident's form speaks to the resident; the agent is not the one giving feedback
    resident_words = ("Palautteesi", "nimettömänä", "Palautteeni", "Yhteystietosi", "Älä kirjoita")
    assert [w for w in resident_words if w in form] == []
    shot(agent, "03-entry")
    assert_accessible(agent)
    frame = agent.evaluate(FRAME)[0]
    assert_staff_frame(agent, frame)
    agent.get_by_role("button", name="Kirjaa palaute").click()
    agent.wait_for_url(re.compile(r"/staff/entry/HEL-"))
    code = agent.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"HEL-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    shot(agent, "04-entered")
    assert_accessible(agent)
    case = case_row(web, code)
    assert case.channel == "phone" and case.resident_email == RESIDENT  # type: ignore[attr-defined]
    department = case.department  # type: ignore[attr-defined]
    assert department is not None
    receipt = receipt_to_resident(web, code)

    # -- a handler of that office answers it from the console ------------------------------------------
    add_user(web, HANDLER, "handler", (department,), name=HANDLER_NAME)
    handler = make_page()
    log_in(handler, web, HANDLER)
    shot(handler, "05-handler-home")
    handler.get_by_role("link", name="Jonot").first.click()
    handler.get_by_label("Hae", exact=True).fill(code)
    handler.get_by_role("button", name="Hae").click()
    shot(handler, "06-handler-queue")
    assert_accessible(handler)
    assert_staff_frame(handler, frame, narrow_shot="06-handler-queue-400px")
    queue = handler.get_by_role("table", name="Palautejonot")
    assert [queue.get_by_role("columnheader").nth(i).inner_text() for i in (0, 1, 2)] == [
        "Seurantatunnus", "Otsikko", "Yksikkö",
    ]  # fmt: skip
    # the code reads as one word: one box, not broken at a hyphen
    assert queue.get_by_role("link", name=code).evaluate("a => a.getClientRects().length") == 1
    handler.get_by_role("link", name=code).click()
    handler.wait_for_url(re.compile(rf"/staff/cases/{code}"))
    assert CALL in handler.locator("main").inner_text()  # staff see what the resident said, all of it
    # who took the call and where, on the event and among the facts; not the resident's address as actor
    opened = handler.locator("li.event-opened .meta").inner_text()
    assert "Kirjannut: Aino Agentti · Puhelin · Kaupunkiympäristön puhelinpalvelu" in opened, opened
    assert RESIDENT not in opened
    assert handler.locator("#entered-by").inner_text() == (
        "Aino Agentti <aino.agentti@hel.example> · Kaupunkiympäristön puhelinpalvelu"
    )
    handler.get_by_label("Vastaus asukkaalle").fill(ANSWER)
    shot(handler, "07-handler-case")
    assert_accessible(handler)
    assert_staff_frame(handler, frame)
    handler.get_by_role("button", name="Lähetä vastaus").click()
    said = handler.get_by_role("status").inner_text().strip()
    # the answer goes out through the outbox: the page must not say it was sent while its mail waits
    assert said.startswith("Vastaus on lähetysjonossa ja lähtee asukkaalle") and "lähetettiin" not in said
    shot(handler, "08-handler-answered")

    def answers() -> list[Message]:
        return [m for m in mail_to(web.maildir, RESIDENT) if "huomenna" in text_of(m)]

    [answer] = wait_for(answers, what="the answer mail")
    assert_same_thread(receipt, answer)
    seen = readable(answer)
    assert "Penkki korjataan huomenna" in text_of(answer)
    assert [w for w in ("Hanna", "Käsittelijä", "hanna.kasittelija", HANDLER) if w in seen] == []

    # -- a moderator accepts the proposed redactions and publishes -------------------------------------
    add_user(web, MODERATOR, "moderator", name="Mona Moderaattori")
    moderator = make_page()
    log_in(moderator, web, MODERATOR)
    shot(moderator, "09-moderator-home")
    moderator.get_by_role("link", name="Moderointi").first.click()
    moderator.wait_for_url(re.compile(r"/staff/moderation"))
    shot(moderator, "10-moderation-list")
    assert_accessible(moderator)
    assert_staff_frame(moderator, frame)
    waiting = moderator.get_by_role("table", name="Odottaa julkaisua")
    assert [waiting.get_by_role("columnheader").nth(i).inner_text() for i in (0, 1, 2)] == [
        "Seurantatunnus", "Otsikko", "Yksikkö",
    ]  # fmt: skip
    moderator.get_by_role("table", name="Odottaa julkaisua").get_by_role("link", name=code).click()
    moderator.wait_for_url(re.compile(rf"/staff/moderation/{code}"))
    question = moderator.get_by_role("textbox", name="Julkinen kysymys")
    assert question.input_value() == CALL
    for kind, planted in (("Puhelinnumero", PHONE), ("Sähköpostiosoite", EMAIL), ("Henkilötunnus", HETU)):
        assert moderator.get_by_role("checkbox", name=f"{kind}: “{planted}”").is_checked()
    facts = moderator.locator("dl.facts").inner_text()
    assert "Yksikkö\n" in facts and "Kanava\nPuhelin" in facts and "Käsittelijä" not in facts
    shot(moderator, "11-moderation-case")
    assert_accessible(moderator)
    moderator.get_by_role("button", name="Tee valitut poistot").click()
    assert moderator.get_by_role("status").inner_text().startswith("Valitut poistot tehtiin")
    assert question.input_value() == REDACTED
    shot(moderator, "12-moderation-applied")
    moderator.get_by_role("button", name="Julkaise", exact=True).click()
    moderator.wait_for_url(re.compile(r"done=published"))
    assert moderator.get_by_role("status").inner_text() == "Palaute julkaistiin avoimeen palautepalstaan."
    shot(moderator, "13-moderation-published")

    # -- what the public sees ------------------------------------------------------------------------------
    resident = make_page()
    resident.goto(url(web, "/open"))
    assert resident.get_by_role("heading", name="1 julkaistu vastaus").is_visible()
    assert_public(resident.locator("main").inner_text(), "column")
    assert_public(resident.content(), "column html")
    shot(resident, "14-open-column")
    assert_accessible(resident)
    resident.get_by_role("link", name=re.compile("^Soittaja kertoo")).click()
    resident.wait_for_url(re.compile(rf"/open/{code}"))
    assert_public(resident.locator("main").inner_text(), "case page")
    assert_public(resident.content(), "case page html")
    shot(resident, "15-open-case")

    feed = httpx.get(url(web, "/open/feed.atom"))
    assert feed.status_code == 200
    [entry] = ET.fromstring(feed.content).findall(f"{ATOM}entry")
    content = entry.findtext(f"{ATOM}content") or ""
    assert content.startswith(REDACTED) and entry.findtext(f"{ATOM}id", "").endswith(f"/open/{code}")
    assert_public(content, "feed entry")
    assert_public(feed.text, "feed")

    listing = httpx.get(url(web, "/open311/v2/requests.json"))
    assert listing.status_code == 200
    [listed] = listing.json()
    assert listed["service_request_id"] == code and listed["description"] == REDACTED
    assert_public(json.dumps(listing.json(), ensure_ascii=False), "open311 listing")
    one = httpx.get(url(web, f"/open311/v2/requests/{code}.json"))
    assert one.status_code == 200
    [request] = one.json()
    assert request["description"] == REDACTED and "Penkki korjataan huomenna" in request["status_notes"]
    assert_public(json.dumps(one.json(), ensure_ascii=False), "open311 request")


def entered_over_http(web: RunningDaemon, text: str, **fields: str) -> str:
    """A phone call entered by an agent through the entry form without a browser; its tracking code."""
    with httpx.Client(base_url=url(web), follow_redirects=False) as client:
        csrf = as_user(web, client, "aino.agentti@hel.example", "agent")
        nonce = re.search(r'name="nonce" value="([^"]+)"', client.get("/staff/entry").text)
        assert nonce is not None
        entry = {"csrf": csrf, "nonce": nonce.group(1), "channel": "phone", "text": text, **fields}
        sent = client.post("/staff/entry", data={"email": RESIDENT, **entry})
    found = re.match(r"/staff/entry/(HEL-[0-9A-Z]{4}-[0-9A-Z]{4})", sent.headers.get("location", ""))
    assert sent.status_code == 303 and found is not None, sent.text[:300]
    case_row(web, found.group(1))
    return found.group(1)


def test_the_answer_to_an_entered_call_names_the_receipt_it_follows(web: RunningDaemon) -> None:
    """Threaded to the receipt mail (issue 18: "the resident's answer mail appears in the maildir,
    threaded"): the resident of a phone call never sent a mail, so the receipt is the first message of
    the conversation in their mailbox and the answer must name it in In-Reply-To and References. A
    mail program that threads only by messages it holds (Gmail, Outlook's conversation view) otherwise
    shows the answer on its own."""
    code = entered_over_http(web, CALL)
    receipt = receipt_to_resident(web, code)
    web.parts.console.answer(code, "Penkki korjataan huomenna.", Actor(HANDLER, HANDLER_NAME), web.clock())
    [answer] = wait_for(
        lambda: [m for m in mail_to(web.maildir, RESIDENT) if "huomenna" in text_of(m)], what="the answer"
    )
    assert_same_thread(receipt, answer)


def test_open311_shows_no_personal_data_typed_into_the_place(web: RunningDaemon) -> None:
    """What the caller says about the place goes into the entry's place field as the agent hears it, the
    caller's phone number and home address too. The column, the case's page and the feed show only the
    moderated texts; Open311's `address` is the case's place unmoderated, so a number or an identity code
    there is public once the case is published, while the moderator was told only of the texts' findings."""
    place = f"Kaivopuisto, soittajan koti Kotikatu 5 A 7, puh. {PHONE}, hetu {HETU}"
    code = entered_over_http(web, CALL, address=place, consent="yes")
    web.parts.console.answer(code, ANSWER, Actor(HANDLER, HANDLER_NAME), web.clock())
    Moderation(web.db).publish(code, REDACTED, "Penkki korjataan huomenna.", (), MODERATOR, web.clock())
    for path in ("/open", f"/open/{code}", "/open/feed.atom"):
        assert not [p for p in (PHONE, HETU, "Kotikatu") if p in httpx.get(url(web, path)).text], path
    for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{code}.json"):
        shown = json.dumps(httpx.get(url(web, path)).json(), ensure_ascii=False)
        assert code in shown and not [p for p in (PHONE, HETU, "Kotikatu") if p in shown], path
