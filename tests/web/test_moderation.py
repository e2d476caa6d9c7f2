"""Moderation against a real daemon on SQLite and PostgreSQL (issue 18): a moderator is offered the
redactions of what a resident planted in the text, cannot publish while an address, a phone number or an
identity code stays, publishes after applying them, and the open column, the case's page, the Atom feed
and Open311 show the moderated texts and none of the planted data — until the publication is withdrawn.
The attacks: CSRF on publish and withdraw, a handler or an agent at the moderator's pages, markup in a
resident's text; and photos: only a ticked one is public, and without EXIF."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import feedparser
import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from gateway.casework.console import Staff as Actor
from gateway.casework.photo_metadata import bare_type
from gateway.store.tables import attachments, case_events, cases, publications
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, make_mail, send
from tests.web.test_form import SHIPPED, case_row, code_of, jpeg_with_gps, post, url
from tests.web.test_staff_auth import CSRF, add_user, login

BOTH_DATABASES = True  # the waiting list, the publication and the photos' join differ by database

EMAIL, PHONE, HETU = "matti.meikalainen@example.fi", "040 123 4567", "131052-308T"
PLANTED = (EMAIL, PHONE, HETU, "040", "308T", "meikalainen")
QUESTION = (
    "Runeberginkadun ja Arkadiankadun risteyksessä on syvä kuoppa, johon pyöräni eturengas hajosi. "
    f"Soittakaa minulle numeroon {PHONE} tai kirjoittakaa osoitteeseen {EMAIL}.\n\n"
    f"Henkilötunnukseni korvausasiaa varten on {HETU}."
)
ANSWER = (
    "Kiitos palautteesta. Kuoppa on paikattu, ja vahingosta voi hakea korvausta kaupungin verkkosivuilla."
)
ATTACK = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
MODERATOR = "moderaattori@hel.example"
Fields = dict[str, list[str]]


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=0)


@pytest.fixture
def client(web: RunningDaemon) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url(web), follow_redirects=False) as c:
        yield c


def staff_login(
    gw: RunningDaemon, client: httpx.Client, email: str = MODERATOR, role: str = "moderator"
) -> str:
    """Log in as a new user of *role*; the session's CSRF token."""
    departments = tuple(gw.live.current.departments)[:1] if role == "handler" else ()
    add_user(gw, email, role, departments, name="Mona Moderaattori")  # type: ignore[arg-type]
    assert login(client, email).status_code == 303
    found = CSRF.search(client.get("/staff/").text)
    assert found is not None
    return found.group(1)


def answered_case(
    gw: RunningDaemon, text: str = QUESTION, consent: bool = True, files: object = None, name: str = "Matti M"
) -> str:
    """A case from the feedback form (photos cleaned in intake), answered from the console."""
    fields = {"text": text, "email": EMAIL, "name": name, **({"consent": "yes"} if consent else {})}
    code = code_of(post(gw, files=files, **fields))
    case_row(gw, code)
    gw.parts.console.answer(code, ANSWER, Actor("liisa.virtanen@hel.example", "Liisa Virtanen"), gw.clock())
    return code


class Form(HTMLParser):
    """What a browser sends for the form whose action contains *action*: hidden fields, ticked
    checkboxes and textareas as they stand."""

    def __init__(self, page: str, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.textarea = action, False, ""
        self.fields: list[tuple[str, str]] = []
        self.checkboxes: dict[str, tuple[str, str]] = {}  # id -> (name, value), ticked or not
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = self.action in a.get("action", "")
        elif self.inside and tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                self.checkboxes[a["id"]] = (a["name"], a["value"])
            if a.get("type") == "hidden" or (a.get("type") == "checkbox" and "checked" in a):
                self.fields.append((a["name"], a.get("value", "")))
        elif self.inside and tag == "textarea":
            self.textarea = a["name"]
            self.fields.append((self.textarea, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)

    def value(self, name: str) -> str:
        return next(v for n, v in self.fields if n == name).removeprefix("\n")

    def data(
        self, *, leave: tuple[str, ...] = (), add: tuple[tuple[str, str], ...] = (), **change: str
    ) -> Fields:
        """The fields as a browser sends them (it drops the newline after `<textarea>`, HTMLParser keeps
        it), *change*d, without the checkboxes of ids *leave* and with *add*."""
        out: dict[str, list[str]] = {}
        for n, v in [*self.fields, *add]:
            if n in ("question", "answer"):
                v = v.removeprefix("\n")
            if (n, v) not in [self.checkboxes.get(i) for i in leave]:
                out.setdefault(n, []).append(change.get(n, v))
        return out


def public_views(gw: RunningDaemon, code: str) -> dict[str, str]:
    """The open column, the case's page, the feed's entries and Open311's listing, as text."""
    feed = feedparser.parse(httpx.get(url(gw, "/open/feed.atom")).content)
    return {
        "column": httpx.get(url(gw, "/open")).text,
        "page": httpx.get(url(gw, f"/open/{code}")).text,
        "feed": "\n".join(f"{e.get('id')} {e.get('title')} {e['content'][0]['value']}" for e in feed.entries),
        "open311": json.dumps(httpx.get(url(gw, "/open311/v2/requests.json")).json(), ensure_ascii=False),
    }


def events(gw: RunningDaemon, code: str) -> list[Any]:
    with gw.db.read() as conn:
        case_id = conn.execute(select(cases.c.id).where(cases.c.code == code)).scalar_one()
        return list(conn.execute(select(case_events).where(case_events.c.case_id == case_id)))


def publication(gw: RunningDaemon, code: str) -> Any:
    with gw.db.read() as conn:
        return conn.execute(
            select(publications).join(cases, cases.c.id == publications.c.case_id).where(cases.c.code == code)
        ).first()


def assert_the_console_s_words(client: httpx.Client, code: str, listing: str, page: str) -> None:
    """The moderation pages name the subject, the office and the channel as the console does: "Otsikko"
    for the subject ("Aihe" is the topic), "Yksikkö" for the office (not "Käsittelijä"), and the
    console's channel words (the moderation page had "Verkko", "Kundtjänstpunkt", "Walk-in desk")."""
    heads = re.findall(r'<th scope="col">([^<]+)</th>', listing)
    assert heads[:5] == ["Seurantatunnus", "Otsikko", "Yksikkö", "Tila", "Muuttunut"]
    assert f'<td class="nowrap"><a href="/staff/moderation/{code}?lang=fi">{code}</a></td>' in listing
    assert "<dt>Yksikkö</dt>" in page and "<dt>Aihe</dt>" in page and "Käsittelijä" not in page
    assert "<dt>Kanava</dt><dd>Verkkolomake</dd>" in page
    sv = client.get(f"/staff/moderation/{code}?lang=sv").text
    assert "<dt>Enhet</dt>" in sv and "<dt>Ämne</dt>" in sv and "<dd>Webbformulär</dd>" in sv
    assert "Handläggare" not in sv
    en = client.get("/staff/moderation?lang=en").text
    assert re.findall(r'<th scope="col">([^<]+)</th>', en)[:3] == ["Tracking code", "Subject", "Office"]


# -- the way through ---------------------------------------------------------------------------------------


def test_a_moderator_is_offered_the_planted_data_cannot_publish_it_and_publishes_the_redacted_texts(
    web: RunningDaemon, client: httpx.Client
) -> None:
    code = answered_case(web)
    csrf = staff_login(web, client)
    listing = client.get("/staff/moderation")
    assert listing.status_code == 200 and code in listing.text
    page = client.get(f"/staff/moderation/{code}")
    assert page.status_code == 200
    assert_the_console_s_words(client, code, listing.text, page.text)
    form = Form(page.text, "/publish")
    assert form.value("question") == QUESTION and form.value("answer") == ANSWER
    offered = re.findall(r"<strong>([^<]+)</strong>: “([^”]+)” → ([^<(]+)", page.text)
    assert [(kind, html.unescape(text), new.strip()) for kind, text, new in offered] == [
        ("Puhelinnumero", PHONE, "[puhelinnumero]"),
        ("Sähköpostiosoite", EMAIL, "[sähköposti]"),
        ("Henkilötunnus", HETU, "[henkilötunnus]"),
    ]
    assert page.text.count(" checked>") == 3  # ticked by default

    refused = client.post(f"/staff/moderation/{code}/publish", data=form.data())
    assert refused.status_code == 400
    assert "Palautetta ei julkaistu" in refused.text and "Tekstissä on yhä sähköpostiosoite" in refused.text
    assert "Kysymyksessä: Henkilötunnus “131052-308T”" in refused.text
    assert publication(web, code) is None

    applied = client.post(f"/staff/moderation/{code}/apply", data=form.data())
    assert applied.status_code == 200 and "Valitut poistot tehtiin" in applied.text
    after = Form(applied.text, "/publish")
    question = after.value("question")
    assert question == (
        "Runeberginkadun ja Arkadiankadun risteyksessä on syvä kuoppa, johon pyöräni eturengas hajosi. "
        "Soittakaa minulle numeroon [puhelinnumero] tai kirjoittakaa osoitteeseen [sähköposti].\n\n"
        "Henkilötunnukseni korvausasiaa varten on [henkilötunnus]."
    )
    assert "Ei ehdotuksia." in applied.text
    # the public pages are remembered a few seconds: publishing and withdrawing must forget them
    assert code not in public_views(web, code)["column"]
    done = client.post(f"/staff/moderation/{code}/publish", data=after.data())
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert (
        "Palaute julkaistiin avoimeen palautepalstaan." in shown.text and "Julkaise muutokset" in shown.text
    )

    stored = publication(web, code)
    assert stored.question == question and stored.answer == ANSWER and stored.published_by == MODERATOR
    [note] = [e for e in events(web, code) if e.kind == "note"]
    assert note.actor == MODERATOR and note.data["published"] is True and note.data["question"] == question
    assert note.data["left"] == {} and note.data["photos"] == []
    views = public_views(web, code)
    for where, text in views.items():
        assert "[henkilötunnus]" in html.unescape(text) and "Kuoppa on paikattu" in text, where
        assert not [p for p in PLANTED if p in text], where
    waiting, published = client.get("/staff/moderation").text.split('id="published-title"')
    assert code not in waiting and code in published

    # withdrawn: gone from all four, and the reason is kept on the case
    why = {"csrf": csrf, "why": "Asukas pyysi poistamaan", "back": "list"}
    gone = client.post(f"/staff/moderation/{code}/withdraw", data=why)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/staff/moderation?")
    assert "Julkaisu poistettiin" in client.get(gone.headers["location"]).text
    assert publication(web, code).withdrawn_at is not None
    views = public_views(web, code)
    assert code not in views["column"] and "Runeberginkadun" not in views["column"]
    assert httpx.get(url(web, f"/open/{code}")).status_code == 404
    assert code not in views["feed"] and code not in views["open311"]
    notes = [e for e in events(web, code) if e.kind == "note"]
    assert notes[-1].data == {"withdrawn": True, "why": "Asukas pyysi poistamaan"}
    assert notes[-1].actor == MODERATOR
    again = client.post(f"/staff/moderation/{code}/withdraw", data=why)
    assert "problem=not-published" in again.headers["location"]
    assert "Poistettu julkaisusta" in client.get(f"/staff/moderation/{code}").text


def test_an_unticked_proposal_stays_and_names_and_addresses_left_are_recorded(
    web: RunningDaemon, client: httpx.Client
) -> None:
    text = "Matti M tässä. Mannerheimintie 5:n kohdalla katuvalo ei pala. Vastaus osoitteeseen m@example.fi."
    code = answered_case(web, text=text)
    staff_login(web, client)
    page = client.get(f"/staff/moderation/{code}")
    form = Form(page.text, "/publish")
    offered = re.findall(r'<label for="(q\d)"><strong>([^<]+)</strong>', page.text)
    assert offered == [("q0", "Nimi"), ("q1", "Katuosoite"), ("q2", "Sähköpostiosoite")]
    applied = client.post(f"/staff/moderation/{code}/apply", data=form.data(leave=("q0",)))
    question = Form(applied.text, "/publish").value("question")
    assert question.startswith("Matti M tässä. [osoite]") and "[sähköposti]" in question
    assert 'name="keep" value="name|Matti"' in applied.text
    assert re.search(r'id="q0" name="accept" value="q0">', applied.text)  # the name, unticked again
    done = client.post(f"/staff/moderation/{code}/publish", data=Form(applied.text, "/publish").data())
    assert done.status_code == 303
    [note] = [e for e in events(web, code) if e.kind == "note"]
    assert note.data["left"] == {"name": 1}


def test_a_text_edited_before_apply_is_not_redacted_at_stale_places(
    web: RunningDaemon, client: httpx.Client
) -> None:
    code = answered_case(web)
    staff_login(web, client)
    form = Form(client.get(f"/staff/moderation/{code}").text, "/publish")
    edited = "Lisäys alkuun. " + QUESTION
    page = client.post(f"/staff/moderation/{code}/apply", data=form.data(question=edited))
    assert page.status_code == 200 and "Tekstiä oli muokattu ehdotusten jälkeen" in page.text
    assert Form(page.text, "/publish").value("question") == edited  # nothing replaced at the old offsets
    assert page.text.count(" checked>") == 3  # proposed again for the edited text


# -- what may not be published -----------------------------------------------------------------------------


def test_a_resident_who_did_not_allow_publishing_is_never_published(
    web: RunningDaemon, client: httpx.Client
) -> None:
    code = answered_case(web, text="Puiston penkki on rikki ja siitä törröttää nauloja.", consent=False)
    csrf = staff_login(web, client)
    assert code not in client.get("/staff/moderation").text
    page = client.get(f"/staff/moderation/{code}")
    assert "Asukas ei antanut lupaa julkaisuun" in page.text and "/publish" not in page.text
    data = {"csrf": csrf, "question": "Penkki on rikki.", "answer": "Korjattu."}
    refused = client.post(f"/staff/moderation/{code}/publish", data=data)
    assert refused.status_code == 400 and publication(web, code) is None


def test_mail_never_asks_for_consent_and_an_unanswered_case_cannot_be_published(
    web: RunningDaemon, client: httpx.Client
) -> None:
    send(web.port, make_mail(body="Katuvalo on ollut rikki Kalliossa jo kaksi viikkoa, korjatkaa se."))
    [case] = wait_for(lambda: all_cases(web.db), what="the case")
    csrf = staff_login(web, client)
    data = {"csrf": csrf, "question": "Katuvalo on rikki.", "answer": "Korjattu."}
    page = client.get(f"/staff/moderation/{case.code}")
    assert "Palautteeseen ei ole vastattu" in page.text and "Ei kysytty" in page.text
    assert client.post(f"/staff/moderation/{case.code}/publish", data=data).status_code == 400
    web.parts.console.answer(case.code, "Korjattu.", Actor("a@hel.example", "A"), web.clock())
    assert case.code in client.get("/staff/moderation").text
    assert client.post(f"/staff/moderation/{case.code}/publish", data=data).status_code == 303
    for empty in ({"question": " "}, {"answer": ""}, {"question": "x" * 5001}):
        refused = client.post(f"/staff/moderation/{case.code}/publish", data={**data, **empty})
        assert refused.status_code == 400 and "Palautetta ei julkaistu" in refused.text


# -- attacks -----------------------------------------------------------------------------------------------


def test_publish_and_withdraw_without_the_session_csrf_token_are_refused(
    web: RunningDaemon, client: httpx.Client
) -> None:
    code = answered_case(web, text="Roskis on täynnä torin laidalla.")
    csrf = staff_login(web, client)
    data = {"question": "Roskis on täynnä.", "answer": "Tyhjennetty."}
    for token in ({}, {"csrf": "x" * 43}):
        for action in ("publish", "withdraw", "apply"):
            refused = client.post(f"/staff/moderation/{code}/{action}", data={**data, **token, "why": "w"})
            assert refused.status_code == 403 and "Lomaketta ei voitu tarkistaa" in refused.text
    assert publication(web, code) is None
    assert client.post(f"/staff/moderation/{code}/publish", data={**data, "csrf": csrf}).status_code == 303
    refused = client.post(f"/staff/moderation/{code}/withdraw", data={"why": "pois"})
    assert refused.status_code == 403 and publication(web, code).withdrawn_at is None


@pytest.mark.parametrize("role", ["handler", "agent"])
def test_a_handler_or_an_agent_is_forbidden_every_moderation_page(
    web: RunningDaemon, client: httpx.Client, role: str
) -> None:
    code = answered_case(web, text="Roskis on täynnä torin laidalla.")
    csrf = staff_login(web, client, f"{role}@hel.example", role)
    for path in ("/staff/moderation", f"/staff/moderation/{code}", f"/staff/moderation/{code}/photos/1"):
        assert client.get(path).status_code == 403, path
    data = {"csrf": csrf, "question": "Roskis.", "answer": "Tyhjennetty.", "why": "w"}
    for action in ("publish", "withdraw", "apply"):
        answer = client.post(f"/staff/moderation/{code}/{action}", data=data)
        assert answer.status_code == 403 and "Ei käyttöoikeutta" in answer.text
    assert publication(web, code) is None
    anonymous = httpx.get(url(web, f"/staff/moderation/{code}"))
    assert anonymous.status_code == 303 and "/staff/login" in anonymous.headers["location"]


def test_markup_in_the_residents_text_and_name_is_shown_escaped(
    web: RunningDaemon, client: httpx.Client
) -> None:
    code = answered_case(web, text=f"Puisto on roskainen. {ATTACK}", name=f"Matti {ATTACK}")
    staff_login(web, client)
    page = client.get(f"/staff/moderation/{code}")
    assert page.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    form = Form(page.text, "/publish")
    assert form.value("question") == f"Puisto on roskainen. {ATTACK}"  # the textarea holds it as text
    assert client.post(f"/staff/moderation/{code}/publish", data=form.data()).status_code == 303
    for path in ("/open", f"/open/{code}", "/open/feed.atom"):  # HTML and XML: as text, never markup
        raw = httpx.get(url(web, path)).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw and "<script>alert(1)" not in raw, path
        assert "<img src=x" not in raw, path
    waiting_again = client.get("/staff/moderation").text
    assert "<script>alert(1)" not in waiting_again and "&lt;script&gt;" in waiting_again  # the public title


# -- photos ------------------------------------------------------------------------------------------------


def test_only_a_ticked_photo_is_public_and_it_carries_no_exif(
    web: RunningDaemon, client: httpx.Client
) -> None:
    files = [("photos", (f"kuoppa{i}.jpg", jpeg_with_gps(), "image/jpeg")) for i in (1, 2)]
    code = answered_case(web, text="Kuoppa pyörätiellä, kuvat liitteenä.", files=files)
    with web.db.read() as conn:
        first, second = conn.execute(
            select(attachments.c.id).join(cases).where(cases.c.code == code).order_by(attachments.c.id)
        ).scalars()
    staff_login(web, client)
    page = client.get(f"/staff/moderation/{code}")
    assert f'src="/staff/moderation/{code}/photos/{first}"' in page.text and "Julkaise kuva 2" in page.text
    thumbnail = client.get(f"/staff/moderation/{code}/photos/{first}")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.headers["cache-control"] == "no-store"
    assert httpx.get(url(web, f"/staff/moderation/{code}/photos/{first}")).status_code == 303  # no session
    assert httpx.get(url(web, f"/open/{code}/photos/{first}")).status_code == 404  # not published yet

    form = Form(page.text, "/publish")
    ticked = form.data(add=(("photo", str(second)),))
    assert client.post(f"/staff/moderation/{code}/publish", data=ticked).status_code == 303
    public = httpx.get(url(web, f"/open/{code}/photos/{second}"))
    assert public.status_code == 200 and public.headers["content-type"] == "image/jpeg"
    assert (
        public.headers["x-content-type-options"] == "nosniff"
        and public.headers["cache-control"] == "no-cache"
    )
    assert b"Exif" not in public.content and b"SecretCam" not in public.content
    assert not Image.open(io.BytesIO(public.content)).getexif() and bare_type(public.content) == "image/jpeg"
    same = httpx.get(
        url(web, f"/open/{code}/photos/{second}"), headers={"If-None-Match": public.headers["etag"]}
    )
    assert same.status_code == 304
    assert httpx.get(url(web, f"/open/{code}/photos/{first}")).status_code == 404  # not ticked
    assert httpx.get(url(web, f"/open/{code}/photos/999999")).status_code == 404
    again = client.get(f"/staff/moderation/{code}").text
    assert f'value="{second}" checked>' in again and f'value="{first}">' in again

    other = answered_case(web, text="Toinen kuoppa toisaalla.", files=None)
    assert httpx.get(url(web, f"/open/{other}/photos/{second}")).status_code == 404  # another case's id
    withdrawn = client.post(
        f"/staff/moderation/{code}/withdraw",
        data={"csrf": form.value("csrf"), "why": "Kuvassa näkyy ihminen"},
    )
    assert withdrawn.status_code == 303
    assert httpx.get(url(web, f"/open/{code}/photos/{second}")).status_code == 404


def test_a_mailed_photo_with_its_exif_is_not_offered_and_cannot_be_ticked(
    web: RunningDaemon, client: httpx.Client
) -> None:
    msg: EmailMessage = make_mail(body="Kuoppa Hämeentiellä, kuva liitteenä. Korjatkaa pian, kiitos.")
    msg.add_attachment(jpeg_with_gps(), maintype="image", subtype="jpeg", filename="kuoppa.jpg")
    send(web.port, msg)
    [case] = wait_for(lambda: all_cases(web.db), what="the case")
    web.parts.console.answer(case.code, "Korjataan.", Actor("a@hel.example", "A"), web.clock())
    with web.db.read() as conn:
        photo_id = conn.execute(select(attachments.c.id).where(attachments.c.case_id == case.id)).scalar_one()
    csrf = staff_login(web, client)
    page = client.get(f"/staff/moderation/{case.code}")
    assert "kuoppa.jpg: Tätä liitettä ei voi julkaista" in page.text and 'name="photo"' not in page.text
    data = {"csrf": csrf, "question": "Kuoppa Hämeentiellä.", "answer": "Korjataan.", "photo": str(photo_id)}
    refused = client.post(f"/staff/moderation/{case.code}/publish", data=data)
    assert refused.status_code == 400 and "Valittua kuvaa ei voi julkaista" in refused.text
    assert publication(web, case.code) is None
