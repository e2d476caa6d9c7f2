"""The staff console in a real headless Chromium (issue 18): an agent enters a phone call with the
resident's email and reads the code; a handler finds it in the queue and answers from the case page; the
resident's answer mail is in the maildir, threaded and without the handler's name. Screenshots of each
page under var/screenshots/ and axe-core's WCAG 2.1 AA check."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.support.browser import PageMaker, screenshot
from tests.support.conversation import mail_to, text_of
from tests.support.daemon import RunningDaemon, wait_for
from tests.web.test_browser import assert_accessible, label
from tests.web.test_form import SHIPPED, case_row, url
from tests.web.test_staff_auth import PASSWORD, add_user

RESIDENT = "maija.asukas@example.fi"


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED)


def log_in(page: Page, web: RunningDaemon, email: str) -> None:
    page.goto(url(web, "/staff/login"))
    page.get_by_label("Sähköposti").fill(email)
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu sisään").click()
    page.wait_for_url(re.compile(r"/staff/$"))


def test_an_agent_enters_a_call_and_a_handler_answers_it_from_the_console(
    web: RunningDaemon, make_page: PageMaker
) -> None:
    add_user(web, "aino.agentti@hel.example", "agent", name="Aino Agentti")
    agent = make_page()
    log_in(agent, web, "aino.agentti@hel.example")
    agent.get_by_role("link", name="Kirjaa puhelu tai käynti").first.click()
    agent.get_by_role("radio", name="Puhelin").check()
    agent.get_by_label(label("Palautteesi")).fill(
        "Soittaja: puiston penkki on rikki ja siitä törröttää nauloja."
    )
    agent.get_by_label(label("Sähköposti")).fill(RESIDENT)
    screenshot(agent, "staff-entry-fi")
    assert_accessible(agent)
    agent.get_by_role("button", name="Kirjaa palaute").click()
    agent.wait_for_url(re.compile(r"/staff/entry/HEL-"))
    code = agent.locator("#tracking-code").inner_text().strip()
    screenshot(agent, "staff-entered-fi")
    assert_accessible(agent)
    department = case_row(web, code).department  # type: ignore[attr-defined]

    add_user(web, "hanna.handler@hel.example", "handler", (department,), name="Hanna Käsittelijä")
    handler = make_page()
    log_in(handler, web, "hanna.handler@hel.example")
    handler.get_by_role("link", name="Jonot").first.click()
    screenshot(handler, "staff-queues-fi")
    assert_accessible(handler)
    handler.get_by_role("link", name=code).click()
    handler.wait_for_url(re.compile(rf"/staff/cases/{code}"))
    handler.get_by_label("Vastaus asukkaalle").fill(
        "Hei,\n\nPenkki korjataan huomenna.\n\nTerveisin\nHanna Käsittelijä"
    )
    screenshot(handler, "staff-case-fi")
    assert_accessible(handler)
    handler.get_by_role("button", name="Lähetä vastaus").click()
    assert handler.get_by_role("status").inner_text().strip() == "Vastaus lähetettiin asukkaalle."
    [answer] = wait_for(lambda: [m for m in mail_to(web.maildir, RESIDENT) if "huomenna" in text_of(m)])
    assert "Hanna" not in text_of(answer) and answer["In-Reply-To"] is not None
