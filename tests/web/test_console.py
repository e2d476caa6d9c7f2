"""The staff console against a real daemon (issue 18): phone and walk-in entry, the queues and the case
page with its actions, a handler's scope, escaping of what residents wrote, CSRF on every action; the
page in the staff's words (channel, status, events, outgoing mail), never the values the store holds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

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
    assert_entry_form_in_staff_words(client)
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


# The entry form's fields in the secretary's words, and the resident's words for the same fields.
ENTRY_WORDS = {
    "fi": (
        ("Asukkaan palaute", "Asukkaan yhteystiedot", "Asukas saa jäädä nimettömäksi",
         "Asukas antoi luvan julkaista palautteensa", "Älä kirjaa henkilötunnusta"),
        ("Palautteesi", "Yhteystietosi", "Voit antaa palautetta myös nimettömänä", "Palautteeni",
         "Älä kirjoita tähän henkilötunnusta"),
    ),
    "sv": (
        ("Invånarens respons", "Invånarens kontaktuppgifter", "Invånaren får vara anonym",
         "Invånaren gav tillstånd att publicera"),
        ("Din respons", "Dina kontaktuppgifter", "Du kan också ge respons anonymt", "Min respons"),
    ),
    "en": (
        ("The resident&#39;s feedback", "The resident&#39;s contact details",
         "The resident may stay anonymous", "The resident allowed their feedback"),
        ("Your feedback", "Your contact details", "You may give feedback anonymously", "My feedback"),
    ),
}  # fmt: skip


def assert_entry_form_in_staff_words(client: httpx.Client) -> None:
    for lang, (staff_words, resident_words) in ENTRY_WORDS.items():
        page = client.get(f"/staff/entry?lang={lang}").text
        assert [w for w in staff_words if w not in page] == [], lang
        assert [w for w in resident_words if w in page] == [], lang
    # a form sent without its text is refused in the same words
    refused = client.get("/staff/entry").text
    csrf = CSRF.search(refused).group(1)  # type: ignore[union-attr]
    refused = client.post("/staff/entry", data={"csrf": csrf, "channel": "phone", "text": ""}).text
    assert "Kirjaa asukkaan palaute." in refused and "Kirjoita palautteesi." not in refused


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
    # the answer waits in the outbox: the page says it is on its way, as the mail list beside it does
    said = client.get(answered.headers["location"]).text
    assert "Vastaus on lähetysjonossa ja lähtee asukkaalle" in said and "Vastaus lähetettiin" not in said
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
    # The desk's note "status routed -> waiting: ?" and the reroute's office keys, in words
    assert "Tila muutettu: Käsittelyssä → Odottaa asukkaan lisätietoja" in page.text
    assert "Pysäköinninvalvonta → Kirjaamo" in page.text and "status routed" not in page.text
    assert client.post(f"/staff/cases/{code}/note", data={"text": "ilman tunnistetta"}).status_code == 403


def test_the_queues_count_search_and_parked(gateway: RunningDaemon, client: httpx.Client) -> None:
    code = parking_case(gateway)
    as_user(gateway, client, "admin@hel.example", "admin")
    page = client.get("/staff/queues?queue=open")
    assert 'Avoimet <span class="count">(1)</span>' in page.text
    # the subject is "Otsikko", the office "Yksikkö" (the topic is "Aihe" on the form and the
    # moderation page); the code is kept on one line
    heads = re.findall(r'<th scope="col"[^>]*>(?:<a [^>]*>)?([^<]+)<', page.text)
    assert heads == ["Seurantatunnus", "Otsikko", "Yksikkö", "Tila", "Saapunut", "Vastattava viimeistään"]
    assert f'<td class="nowrap"><a href="/staff/cases/{code}?lang=fi">{code}</a></td>' in page.text
    assert "<td>Käsittelyssä</td>" in page.text  # the staff's status word
    assert code in client.get(f"/staff/queues?q={code.lower()}").text
    assert code in client.get(f"/staff/queues?q={RESIDENT}").text
    assert code not in client.get("/staff/queues?q=lumikasa").text
    assert client.get("/staff/parked").status_code == 200


class Visible(HTMLParser):
    """The words a reader sees: text outside tags, scripts and styles; no attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style", "title")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.words += re.findall(r"[\w-]+", data)


def visible_words(html: str) -> set[str]:
    parser = Visible()
    parser.feed(html)
    return set(parser.words)


# What the store holds for a phone case whose receipt went out: none of it is a word a secretary reads.
STORED = {
    "phone", "walk-in", "smtp", "web", "open311",  # the channel
    "new", "routed", "waiting", "answered", "closed",  # the status
    "opened", "rerouted", "note", "follow-up",  # event kinds
    "receipt", "forward", "interim", "answer",  # outbox kinds
    "pending", "sent", "parked", "bounced",  # outbox states
    "rules", "gateway",  # the actors that are not people
}  # fmt: skip


def test_the_case_page_of_a_phone_call_reads_in_the_staff_s_words(
    gateway: RunningDaemon, client: httpx.Client
) -> None:
    csrf = as_user(gateway, client, "agentti@hel.example", "agent")
    nonce = re.search(r'name="nonce" value="([^"]+)"', client.get("/staff/entry").text).group(1)  # type: ignore[union-attr]
    data = {
        "csrf": csrf, "nonce": nonce, "channel": "phone", "desk": "Puhelinpalvelu", "email": RESIDENT,
        "text": "Soittaja kertoo, että auto on pysäköity suojatielle Kalliossa.",
    }  # fmt: skip
    entered = client.post("/staff/entry", data=data)
    assert entered.status_code == 303
    [case] = wait_for(lambda: all_cases(gateway.db), what="the case")
    wait_for(lambda: mail_to(gateway.maildir, RESIDENT), what="the receipt")

    def page(lang: str) -> str:
        return client.get(f"/staff/cases/{case.code}?lang={lang}").text

    def when_both_sent() -> str | None:  # the receipt and the hand-over
        text = page("fi")
        return text if text.count("· Lähetetty ·") == 2 else None

    fi = wait_for(when_both_sent, what="the receipt and the hand-over marked sent")
    assert "<dt>Kanava</dt><dd>Puhelin</dd>" in fi
    # who entered the call and at which desk: the account's name and address, not the resident's
    who = "Liisa Virtanen &lt;agentti@hel.example&gt; · Puhelinpalvelu"
    assert f'<dt>Kirjannut</dt><dd id="entered-by">{who}</dd>' in fi
    opened = r"<strong>Palaute kirjattiin</strong> · [0-9.]+ [0-9.]+ · Kirjannut: Liisa Virtanen · Puhelin · "
    assert re.search(opened + "Puhelinpalvelu</p>", fi)
    assert f"· {RESIDENT}</p>" not in fi
    assert "<dt>Tila</dt><dd>Käsittelyssä</dd>" in fi
    assert f"Vastaanottokuittaus asukkaalle → {RESIDENT} · Lähetetty ·" in fi
    assert "Välitys yksikölle → pysakointi@hel.example · Lähetetty ·" in fi
    assert "<strong>Ohjattu</strong>" in fi and "· Ohjaussäännöt" in fi and "→ Pysäköinninvalvonta" in fi
    # the status words are the staff's, the resident's ("from you") are not
    assert '<option value="waiting">Odottaa asukkaan lisätietoja</option>' in fi
    assert "sinulta" not in fi
    assert visible_words(fi) & STORED == set()

    sv = page("sv")
    assert "<dt>Kanal</dt><dd>Telefon</dd>" in sv and "<dd>Under behandling</dd>" in sv
    assert "Registrerad av: Liisa Virtanen · Telefon · Puhelinpalvelu</p>" in sv
    assert f"Mottagningsbekräftelse till invånaren → {RESIDENT} · Skickat ·" in sv
    assert "Väntar på mer information från invånaren" in sv and "från dig" not in sv
    assert visible_words(sv) & STORED == set()
    en = page("en")
    assert "<dt>Channel</dt><dd>Phone</dd>" in en and "<dd>Being handled</dd>" in en
    assert "Entered by: Liisa Virtanen · Phone · Puhelinpalvelu</p>" in en
    assert f"Receipt to the resident → {RESIDENT} · Sent ·" in en and "The routing rules" in en
    assert "Waiting for more information from the resident" in en and "from you" not in en


def test_the_console_words_exist_in_every_language() -> None:
    """Every console word in fi, sv and en, and a word for every value the console shows: channels,
    statuses, event kinds, the kinds and states of outgoing mail, roles."""
    from gateway.model.kinds import CaseStatus, Channel, EventKind
    from gateway.notifier.outbound import HANDOVER_KINDS, NEVER_HELD_FOR_BOUNCES
    from gateway.store.outbox import AUTOMATIC_KINDS, CONVERSATION_KINDS
    from gateway.store.users import ROLES
    from gateway.web.pages import load_texts

    texts = load_texts()
    families = ("console_", "staff_", "mod_")
    keys = {lang: {k for k in words if k.startswith(families)} for lang, words in texts.items()}
    assert keys["fi"] == keys["sv"] == keys["en"]
    # the kinds the notifier and the deadline worker write (notifier/plan.py, notifier/deadline_mail.py)
    kinds = {*AUTOMATIC_KINDS, *CONVERSATION_KINDS, *HANDOVER_KINDS, *NEVER_HELD_FOR_BOUNCES}
    kinds |= {"webhook", "reminder"}
    wanted = {
        *(f"console_channel_{c}" for c in Channel),
        *(f"console_event_{k}" for k in EventKind),
        *(f"console_mail_kind_{k}" for k in kinds),
        *(f"console_mail_state_{s}" for s in ("pending", "sent", "parked", "bounced")),  # tables.outbox
        *(f"staff_role_{r}" for r in ROLES),
    }
    assert {k.replace("-", "_") for k in wanted} <= keys["fi"]
    statuses = {k.removeprefix("console_status_") for k in keys["fi"] if k.startswith("console_status_")}
    assert statuses == set(CaseStatus)
    for words in texts.values():
        assert words["console_status_waiting"] != words["status_waiting"]  # the resident's is "from you"


def test_the_staff_pages_say_one_word_for_one_thing() -> None:
    """The words reviewers found used for two things, or two words for one: the mail's subject and the
    case's topic, the office that handles a case, the channels (the moderation page had words of its
    own for them). One set, from the console's words, on every staff page."""
    from gateway.model.kinds import Channel
    from gateway.web.pages import load_texts

    texts = load_texts()
    for lang, words in texts.items():
        assert words["console_subject"] != words["mod_topic"] == words["category_label"], lang
        assert not [k for k in words if k.startswith(("mod_channel", "mod_office", "mod_subject"))], lang
        channels = [words[f"console_channel_{c.replace('-', '_')}"] for c in Channel]
        assert len(set(channels)) == len(channels) - 1, lang  # smtp and imap are both email
    assert texts["fi"]["console_subject"] == "Otsikko" and texts["fi"]["console_office"] == "Yksikkö"
    assert (texts["sv"]["console_channel_walk_in"], texts["en"]["console_channel_walk_in"]) == (
        "Servicepunkt",
        "Service desk",
    )
