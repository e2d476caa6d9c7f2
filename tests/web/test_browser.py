"""The resident's pages in a real headless Chromium (Debian's, driven by Playwright): the form filled by
its labels with a photo, the answer page with the code, the tracking page; with JavaScript on and off, in
Finnish and Swedish; screenshots under var/screenshots/ and axe-core's WCAG 2.1 AA check (issue 17)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page

from tests.support.browser import PageMaker, accessibility_violations, screenshot
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import receipt_mail
from tests.web.test_form import SHIPPED, case_row, url

CODE = re.compile(r"HEL-[0-9A-Z]{4}-[0-9A-Z]{4}")


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    # the fixed test clock does not move while a person fills the form: no minimum fill time here
    return start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=0, form_min_seconds=0)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "kuoppa.jpg"
    image = Image.new("RGB", (320, 200), (90, 90, 90))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def label(words: str) -> re.Pattern[str]:
    """A field's accessible name begins with its label's words ("Palautteesi (pakollinen)")."""
    return re.compile(rf"^{re.escape(words)}( \(|$)")


def assert_accessible(page: Page) -> None:
    violations = accessibility_violations(page)
    assert violations == [], "\n".join(f"{v.id} ({v.impact}): {v.help} at {v.targets}" for v in violations)


WORDS = {
    "fi": ("Palautteesi", "Aihe", "Osoite tai paikan kuvaus", "Kuvat", "Sähköposti", "Lähetä palaute"),
    "sv": (
        "Din respons",
        "Ämne",
        "Adress eller beskrivning av platsen",
        "Bilder",
        "E-post",
        "Skicka respons",
    ),
}


@pytest.mark.parametrize(("lang", "javascript"), [("fi", True), ("sv", False)])
def test_a_resident_sends_feedback_with_a_photo_and_finds_it_by_its_code(
    web: RunningDaemon, make_page: PageMaker, photo: Path, lang: str, javascript: bool
) -> None:
    page = make_page(javascript=javascript, locale=f"{lang}-FI")
    page.goto(url(web, f"/?lang={lang}"))
    text_label, topic, place, photos, email, send = WORDS[lang]
    assert_accessible(page)
    page.get_by_label(label(text_label)).fill(
        "Hakaniemen torin laidalla on syvä kuoppa pyörätiessä, varokaa."
    )
    page.get_by_label(label(topic)).select_option("pothole")
    page.get_by_label(label(place)).fill("Hakaniementori")
    page.get_by_label(label(photos)).set_input_files(str(photo))
    page.get_by_label(label(email)).fill("asukas@example.fi")
    screenshot(page, f"form-{lang}{'' if javascript else '-nojs'}")
    page.get_by_role("button", name=send).click()
    page.wait_for_url(re.compile(r"/sent/"))
    code = page.locator("#tracking-code").inner_text().strip()
    assert CODE.fullmatch(code)
    screenshot(page, f"sent-{lang}{'' if javascript else '-nojs'}")
    assert_accessible(page)
    row = case_row(web, code)
    assert row.category == "pothole" and row.language == lang  # type: ignore[attr-defined]
    page.get_by_role("link", name=re.compile("Seuraa|Följ")).click()
    page.wait_for_url(re.compile(rf"/track/{code}"))
    assert code in page.content()
    screenshot(page, f"track-{lang}{'' if javascript else '-nojs'}")
    assert_accessible(page)
    [mail] = wait_for(lambda: receipt_mail(web.maildir), what="the receipt mail")
    assert f"/track/{code}" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_errors_are_shown_next_to_their_fields_and_the_page_stays_accessible(
    web: RunningDaemon, page: Page
) -> None:
    page.goto(url(web, "/?lang=fi"))
    page.get_by_label("Palautteesi").fill("lyhyt")
    page.get_by_label("Sähköposti").fill("ei osoite")
    page.get_by_role("button", name="Lähetä palaute").click()
    assert page.locator("#text-error").inner_text().endswith("Palautteen pitää olla vähintään 10 merkkiä.")
    assert page.locator("#email-error").is_visible()
    assert page.get_by_label("Palautteesi").input_value() == "lyhyt"  # what was written is kept
    screenshot(page, "form-errors-fi")
    assert_accessible(page)


def test_the_tracking_look_up_and_the_unknown_code_page(web: RunningDaemon, page: Page) -> None:
    page.goto(url(web, "/?lang=en"))
    page.get_by_label("Tracking code").fill("hel-0000-0000")
    page.get_by_role("button", name="Look up").click()
    assert page.get_by_role("heading", name="Code not found").is_visible()
    screenshot(page, "track-unknown-en")
    assert_accessible(page)
