"""Moderation in a real headless Chromium (issue 18): a moderator logs in, finds the answered case in the
moderation list, is offered the redactions of the email address, the phone number and the identity code
planted in it, applies them (a plain form post: no script), ticks a photo and publishes; the case's public
page then shows the moderated text and the photo. Screenshots of both pages under var/screenshots/ and
axe-core's WCAG 2.1 AA check on both."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from PIL import Image
from playwright.sync_api import Page

from gateway.casework.console import Staff as Actor
from gateway.casework.moderation import Moderation
from tests.support.browser import screenshot
from tests.support.daemon import RunningDaemon
from tests.web.test_browser import assert_accessible
from tests.web.test_form import SHIPPED, url
from tests.web.test_moderation import EMAIL, HETU, PHONE, QUESTION, answered_case
from tests.web.test_staff_auth import PASSWORD, add_user


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=0)


def street_photo() -> bytes:
    """A photo-like JPEG (a grey road, a dark hole) with a camera and a GPS position in its EXIF."""
    image = Image.new("RGB", (480, 320), (120, 124, 128))
    image.paste((40, 36, 34), (190, 150, 300, 210))
    exif = Image.Exif()
    exif[0x0110] = "SecretCam 3000"
    exif.get_ifd(0x8825)[2] = (60.0, 10.0, 12.3456)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_moderator_applies_the_proposed_redactions_and_publishes(web: RunningDaemon, page: Page) -> None:
    published = answered_case(web, text="Roska-astia on kaatunut Kaivopuiston rantaan.")
    Moderation(web.db).publish(
        published, "Roska-astia on kaatunut Kaivopuiston rantaan.", "Astia on nostettu.", (), "m@hel.example",
        web.clock(),
    )  # fmt: skip
    answered_case(web, text="Leikkipuiston keinu narisee ja heiluu kiinnityksestään.")
    photos = [("photos", ("kuoppa.jpg", street_photo(), "image/jpeg"))]
    code = answered_case(web, files=photos)
    web.parts.console.answer(code, "Kuoppa paikattiin tiistaina.", Actor("l@hel.example", "L"), web.clock())
    add_user(web, "mona.moderaattori@hel.example", "moderator", name="Mona Moderaattori")

    page.goto(url(web, "/staff/moderation"))
    page.wait_for_url(re.compile(r"/staff/login"))
    page.get_by_label("Sähköposti").fill("mona.moderaattori@hel.example")
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu sisään").click()
    page.wait_for_url(re.compile(r"/staff/moderation$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Moderointi"
    waiting = page.get_by_role("table", name="Odottaa julkaisua")
    assert waiting.get_by_role("row").count() == 3  # the heading row and two cases
    assert page.get_by_role("table", name="Julkaistut").get_by_role("row").count() == 2
    screenshot(page, "staff-moderation-list-fi")
    assert_accessible(page)

    page.get_by_role("link", name=code).first.click()
    page.wait_for_url(re.compile(rf"/staff/moderation/{code}\?lang=fi$"))
    question = page.get_by_role("textbox", name="Julkinen kysymys")
    assert question.input_value() == QUESTION
    for kind, planted in (("Puhelinnumero", PHONE), ("Sähköpostiosoite", EMAIL), ("Henkilötunnus", HETU)):
        offered = page.get_by_role("checkbox", name=f"{kind}: “{planted}”")
        assert offered.is_checked()
    screenshot(page, "staff-moderation-case-fi")
    assert_accessible(page)

    page.get_by_role("button", name="Tee valitut poistot").click()
    assert page.get_by_role("status").inner_text().startswith("Valitut poistot tehtiin")
    text = question.input_value()
    assert "[puhelinnumero]" in text and "[sähköposti]" in text and "[henkilötunnus]" in text
    assert not any(planted in text for planted in (PHONE, EMAIL, HETU))
    page.get_by_role("checkbox", name="Julkaise kuva 1").check()
    page.get_by_role("button", name="Julkaise", exact=True).click()
    page.wait_for_url(re.compile(r"done=published"))
    assert page.get_by_role("status").inner_text() == "Palaute julkaistiin avoimeen palautepalstaan."
    screenshot(page, "staff-moderation-published-fi")

    page.goto(url(web, f"/open/{code}"))
    main = page.locator("main").inner_text()
    assert "Runeberginkadun" in main and "[henkilötunnus]" in main
    assert not any(planted in main for planted in (PHONE, EMAIL, HETU))
