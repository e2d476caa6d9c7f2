"""The open feedback column in a real headless Chromium (issue 18): a resident opens the column in
Finnish and narrows it to a topic, searches in Swedish with JavaScript off, and reads one case in
English; axe-core's WCAG 2.1 AA check on every page, screenshots under var/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page

from tests.support.browser import PageMaker, accessibility_violations, screenshot
from tests.support.daemon import RunningDaemon
from tests.web.test_column import DAY, make_case
from tests.web.test_form import SHIPPED, url

CASES = [  # question, answer, topic, office, area, language
    (
        "Lumi tukkii Fredrikinkadun pyörätien, eikä sitä ole aurattu kolmeen päivään.",
        "Kiitos palautteesta. Pyörätie aurataan tänään iltapäivällä, ja kohde on lisätty tarkistuslistalle.",
        "winter-maintenance", "talvikunnossapito-etela", "etelainen-suurpiiri", "fi",
    ),
    (
        "Snöhögen vid Mannerheimvägens övergångsställe skymmer sikten för bilister.",
        "Tack för responsen. Snöhögen körs bort under natten till torsdag.",
        "winter-maintenance", "talvikunnossapito-etela", "etelainen-suurpiiri", "sv",
    ),
    (
        "Keinu on rikki Alppipuiston leikkipaikalla.",
        "Keinun istuin vaihdetaan tällä viikolla. Kiitos, että ilmoitit.",
        "park-maintenance", "tyoyksikko", "pohjoinen-suurpiiri", "fi",
    ),
    (
        "Katuvalo vilkkuu Itäkeskuksen bussipysäkillä iltaisin.",
        "Valaisin on korjattu.\n\nJos vika toistuu, lähetäthän uuden palautteen.",
        "streetlight", "tyoyksikko", "itainen-suurpiiri", "fi",
    ),
]  # fmt: skip


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    gw = start_gateway(config_dir=SHIPPED)
    for i in range(20):  # a second page of winter answers, so that the pager shows
        make_case(
            gw,
            f"Jalkakäytävä on liukas kohdassa {i + 1}.",
            "Jalkakäytävä hiekoitetaan.",
            at=DAY - timedelta(days=i + 1),
            category="winter-maintenance",
            department="talvikunnossapito-etela",
        )
    for i, (question, answer, topic, office, area, language) in enumerate(CASES):
        make_case(
            gw, question, answer, at=DAY + timedelta(hours=i), category=topic, department=office,
            place=area, language=language,
        )  # fmt: skip
    return gw


def assert_accessible(page: Page) -> None:
    violations = accessibility_violations(page)
    assert violations == [], "\n".join(f"{v.id} ({v.impact}): {v.help} at {v.targets}" for v in violations)


def headings(page: Page) -> list[str]:
    return [h.strip() for h in page.locator("article h3").all_inner_texts()]


def test_a_resident_filters_searches_and_reads_the_open_column(
    web: RunningDaemon, make_page: PageMaker
) -> None:
    page = make_page(locale="fi-FI")
    page.goto(url(web, "/open"))
    assert page.get_by_role("heading", level=1).inner_text() == "Avoin palaute"
    assert page.get_by_role("heading", name="24 julkaistua vastausta").is_visible()
    page.get_by_label("Aihe").select_option("winter-maintenance")
    page.get_by_role("button", name="Näytä").click()
    page.wait_for_url(re.compile(r"topic=winter-maintenance"))
    assert page.get_by_role("heading", name="22 julkaistua vastausta").is_visible()
    assert headings(page)[0].startswith("Snöhögen vid") and "Keinu on rikki" not in " ".join(headings(page))
    assert page.get_by_role("link", name="Sivu 1").get_attribute("aria-current") == "page"
    screenshot(page, "open-fi")
    assert_accessible(page)
    page.get_by_role("link", name="Seuraava sivu").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert page.get_by_role("link", name="Sivu 2").get_attribute("aria-current") == "page"
    assert page.get_by_label("Aihe").input_value() == "winter-maintenance"  # the filter stays

    swedish = make_page(javascript=False, locale="sv-FI")  # the form works without JavaScript
    swedish.goto(url(web, "/open?lang=sv"))
    swedish.get_by_label("Sökord").fill("snöhögarna")
    swedish.get_by_role("button", name="Visa").click()
    swedish.wait_for_url(re.compile(r"q=sn"))
    assert swedish.get_by_role("heading", name="1 publicerat svar").is_visible()
    assert headings(swedish) == ["Snöhögen vid Mannerheimvägens övergångsställe skymmer sikten för bilister."]
    assert swedish.get_by_label("Sökord").input_value() == "snöhögarna"
    screenshot(swedish, "open-search-sv")
    assert_accessible(swedish)

    english = make_page(locale="en-GB")
    english.goto(url(web, "/open?q=valo&lang=en"))
    english.get_by_role("link", name=re.compile("^Katuvalo vilkkuu")).click()
    english.wait_for_url(re.compile(r"/open/HEL-"))
    assert english.get_by_role("heading", level=1).inner_text().startswith("Katuvalo vilkkuu")
    assert english.get_by_role("heading", name="Answer").is_visible()
    assert "Street lighting" in english.content() and "Urban Environment works unit" in english.content()
    screenshot(english, "open-case-en")
    assert_accessible(english)
    english.get_by_role("link", name="Back to open feedback").first.click()
    english.wait_for_url(re.compile(r"/open\?lang=en$"))
