"""The feedback form against a real daemon (uvicorn in its loop, the receipt writer, intake): what a
resident meets, the bad input and the obvious attacks (issue 17). The browser tests drive the same
pages in Chromium; these read the HTTP answers and the database."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from gateway.store.tables import attachments, cases, receipts
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import count, forward_mail, receipt_mail

TEXT = "Kaivopuiston penkki on rikki ja siitä törröttää nauloja, joihin lapset voivat satuttaa itsensä."


SHIPPED = Path(__file__).resolve().parents[2]  # the repository's own departments.yaml and rules.yaml


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=0)


def url(gw: RunningDaemon, path: str = "/") -> str:
    return f"http://127.0.0.1:{gw.parts.http.port}{path}"


def form_token(gw: RunningDaemon, lang: str = "fi") -> str:
    """A token from the form as a browser gets it, old enough to be accepted (the test clock moves)."""
    page = httpx.get(url(gw, f"/?lang={lang}"))
    assert page.status_code == 200
    found = re.search(r'name="token" value="([^"]+)"', page.text)
    assert found is not None
    gw.clock.advance(timedelta(seconds=10))
    return found.group(1)


def post(gw: RunningDaemon, token: str | None = None, files: object = None, **fields: str) -> httpx.Response:
    data = {"text": TEXT, "lang": "fi", **fields}
    data["token"] = form_token(gw, data["lang"]) if token is None else token
    return httpx.post(url(gw), data=data, files=files, follow_redirects=False)  # type: ignore[arg-type]


def code_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:500]
    found = re.match(r"/sent/(HEL-[0-9A-Z]{4}-[0-9A-Z]{4})\?", response.headers["location"])
    assert found is not None, response.headers["location"]
    return found.group(1)


def case_row(gw: RunningDaemon, code: str) -> object:
    def find() -> object:
        with gw.db.read() as conn:
            return conn.execute(select(cases).where(cases.c.code == code)).first()

    return wait_for(find, what=f"the case {code}")


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x0110] = "SecretCam 3000"  # Model
    gps = exif.get_ifd(0x8825)
    gps[2] = (60.0, 10.0, 12.3456)  # GPSLatitude
    gps[4] = (24.0, 56.0, 7.891)  # GPSLongitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_the_form_is_in_finnish_swedish_and_english_with_its_security_headers(web: RunningDaemon) -> None:
    fi = httpx.get(url(web))
    sv = httpx.get(url(web, "/?lang=sv"))
    en = httpx.get(url(web), headers={"Accept-Language": "en-GB,en;q=0.9,fi;q=0.2"})
    assert '<html lang="fi">' in fi.text and "Anna palautetta" in fi.text
    assert '<html lang="sv">' in sv.text and "Ge respons" in sv.text
    assert '<html lang="en">' in en.text and "Give feedback" in en.text
    assert "Kuoppa tiessä" in fi.text and "Grop i vägen" in sv.text  # categories: from departments.yaml
    csp = fi.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert fi.headers["x-content-type-options"] == "nosniff"
    assert fi.headers["referrer-policy"] == "no-referrer"
    assert "server" not in fi.headers  # no "uvicorn" advertised
    assert "<script" not in fi.text  # works without JavaScript: there is none


def test_a_sent_form_becomes_a_case_with_the_code_shown_and_a_receipt_with_the_tracking_link(
    web: RunningDaemon,
) -> None:
    response = post(
        web, category="park-maintenance", lat="60.158", lon="24.951", address="Kaivopuisto",
        email="Resident@Example.fi", name="Maija", phone="040 123 4567", consent="yes", lang="sv",
    )  # fmt: skip
    code = code_of(response)
    page = httpx.get(url(web, response.headers["location"]))
    assert page.status_code == 200 and code in page.text and f'href="/track/{code}?lang=sv"' in page.text
    finnish = re.search(r'href="([^"]+)" lang="fi"', page.text)
    assert finnish is not None  # the page in another language is still the answer page, with its MAC
    again = httpx.get(url(web, finnish.group(1).replace("&amp;", "&")))
    assert again.status_code == 200 and code in again.text and "Kiitos palautteestasi" in again.text
    row = case_row(web, code)
    assert row.channel == "web" and row.category == "park-maintenance"  # type: ignore[attr-defined]
    assert (row.latitude, row.longitude) == (60.158, 24.951)  # type: ignore[attr-defined]
    assert row.resident_email == "resident@example.fi" and row.language == "sv"  # type: ignore[attr-defined]
    assert row.publish_consent is True and row.resident_phone == "040 123 4567"  # type: ignore[attr-defined]
    [mail] = wait_for(lambda: receipt_mail(web.maildir), what="the receipt mail")
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert code in str(mail["Subject"]) and f"{web.settings.web_url}/track/{code}" in body
    [handover] = wait_for(lambda: forward_mail(web.maildir), what="the hand-over")
    staff = handover.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Aihe:            Puistot ja viheralueet" in staff and "Kaivopuisto – 60.15800, 24.95100" in staff
    assert "Kanava ja kieli: verkkopalvelu, ruotsi" in staff
    assert "resident@example.fi" not in staff and "040 123 4567" not in staff  # answers go through us


def test_anonymous_feedback_is_taken_and_the_page_says_no_answer_comes_by_mail(web: RunningDaemon) -> None:
    response = post(web)
    code = code_of(response)
    page = httpx.get(url(web, response.headers["location"]))
    assert "emme voi lähettää vastausta sähköpostilla" in page.text
    assert case_row(web, code).resident_email == ""  # type: ignore[attr-defined]


def test_the_answer_page_of_a_code_nobody_was_given_is_not_shown(web: RunningDaemon) -> None:
    code = code_of(post(web))
    forged = httpx.get(url(web, f"/sent/{code}?anon=0&m=0000"))
    main = forged.text.partition('<main id="main"')[2]
    assert forged.status_code == 404 and code not in main


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"text": "lyhyt"}, "text", "vähintään 10 merkkiä"),
        ({"text": "x" * 5001}, "text", "enintään 5 000 merkkiä"),
        ({"text": "   "}, "text", "Kirjoita palautteesi"),
        ({"category": "no-such-topic"}, "category", "Valitse aihe listasta"),
        ({"lat": "59.0", "lon": "24.9"}, "location", "kaupungin ulkopuolella"),
        ({"lat": "60.2"}, "location", "sekä leveys- että pituusaste"),
        ({"lat": "pohjoinen", "lon": "24.9"}, "location", "numeroita"),
        ({"email": "not an address"}, "email", "Tarkista sähköpostiosoite"),
        ({"phone": "call me maybe"}, "phone", "Tarkista puhelinnumero"),
        ({"address": "k" * 201}, "address", "enintään 200 merkkiä"),
    ],
)
def test_bad_input_is_shown_again_next_to_its_field_and_nothing_is_stored(
    web: RunningDaemon, fields: dict[str, str], field: str, words: str
) -> None:
    response = post(web, **fields)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text and words in response.text
    assert 'aria-invalid="true"' in response.text
    assert count(web.db, receipts) == 0


def test_the_same_errors_in_swedish(web: RunningDaemon) -> None:
    response = post(web, text="kort", lang="sv")
    assert (
        response.status_code == 400
        and "minst 10 tecken" in response.text
        and '<html lang="sv">' in response.text
    )


def test_markup_in_every_field_is_shown_escaped(web: RunningDaemon) -> None:
    attack = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    response = post(web, text="lyhyt" + attack[:3], name=attack, address=attack, email=attack)
    assert response.status_code == 400
    assert "<script>alert(1)" not in response.text and "<img src=x" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"website": "http://spam.example"}, "Lomaketta ei voitu hyväksyä"),  # the honeypot
        ({"token": "bm90LWEtdG9rZW4"}, "Lomaketta ei voitu tarkistaa"),  # forged
        ({"token": ""}, "Lomaketta ei voitu tarkistaa"),
    ],
)
def test_robots_are_refused_with_a_reason(web: RunningDaemon, change: dict[str, str], words: str) -> None:
    response = post(web, **change)
    assert response.status_code == 400 and words in response.text
    assert count(web.db, receipts) == 0


def test_a_form_sent_at_once_or_after_a_day_is_refused(web: RunningDaemon) -> None:
    page = httpx.get(url(web))
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    at_once = post(web, token=token)
    assert at_once.status_code == 400 and "liian nopeasti" in at_once.text
    web.clock.advance(timedelta(hours=25))
    late = post(web, token=token)
    assert late.status_code == 400 and "liian kauan" in late.text
    assert count(web.db, receipts) == 0


def test_a_form_sent_twice_is_one_case_and_a_reused_token_with_other_words_is_refused(
    web: RunningDaemon,
) -> None:
    token = form_token(web)
    first = post(web, token=token)
    again = post(web, token=token)  # a double click, or the browser's back and send again
    assert code_of(again) == code_of(first)
    other = post(web, token=token, text="Aivan toinen palaute samalla lomakkeella lähetettynä.")
    assert other.status_code == 400 and "jo lähetetty" in other.text
    assert count(web.db, receipts) == 1


def test_photos_are_checked_by_their_bytes_and_stored_without_their_location(web: RunningDaemon) -> None:
    fake = post(web, files=[("photos", ("kuva.jpg", b"MZ\x90\x00 not a jpeg", "image/jpeg"))])
    assert fake.status_code == 400 and "Liite ei ole kuva" in fake.text
    six = [("photos", (f"k{i}.jpg", jpeg_with_gps(), "image/jpeg")) for i in range(6)]
    assert post(web, files=six).status_code == 400
    code = code_of(post(web, files=[("photos", ("../../etc/kuva.JPG", jpeg_with_gps(), "image/jpeg"))]))
    case_id = case_row(web, code).id  # type: ignore[attr-defined]
    with web.db.read() as conn:
        [photo] = conn.execute(select(attachments).where(attachments.c.case_id == case_id)).all()
    assert photo.content_type == "image/jpeg" and "/" not in photo.filename
    assert b"SecretCam" not in photo.content and b"Exif" not in photo.content
    assert not Image.open(io.BytesIO(photo.content)).getexif()


def test_a_30_mb_photo_is_refused_and_a_body_over_the_bound_gets_413(
    web: RunningDaemon, start_gateway: Callable[..., RunningDaemon]
) -> None:
    big = b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024)
    response = post(web, files=[("photos", ("big.jpg", big, "image/jpeg"))])
    assert response.status_code == 400 and "Kuva on liian suuri" in response.text
    small = start_gateway(config_dir=SHIPPED, http_max_body_bytes=1024 * 1024)
    over = post(small, files=[("photos", ("big.jpg", big[: 2 * 1024 * 1024], "image/jpeg"))])
    assert over.status_code == 413 and "liian suuri" in over.text
    assert count(web.db, receipts) == 0 and count(small.db, receipts) == 0


def test_a_client_that_sends_too_fast_gets_429_with_retry_after(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    gw = start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=2)
    answers = [post(gw).status_code for _ in range(3)]
    limited = post(gw)
    assert answers[:2] == [303, 303] and limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1 and "Liian monta" in limited.text
