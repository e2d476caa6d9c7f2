"""The staff login in a real headless Chromium (issue 18): the form filled by its labels, the landing
page, logging out; screenshots under var/screenshots/ and axe-core's WCAG 2.1 AA check on both pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.support.browser import screenshot
from tests.support.daemon import RunningDaemon
from tests.web.test_browser import assert_accessible
from tests.web.test_form import SHIPPED, url
from tests.web.test_staff_auth import PASSWORD, add_user


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED)


def test_a_handler_logs_in_sees_who_they_are_and_logs_out(web: RunningDaemon, page: Page) -> None:
    department = next(iter(web.live.current.departments))
    add_user(web, "hanna.handler@hel.example", "handler", (department,), name="Hanna Käsittelijä")
    page.goto(url(web, "/staff/"))
    page.wait_for_url(re.compile(r"/staff/login"))
    assert page.get_by_role("heading", name="Kirjaudu henkilökunnan palveluun").is_visible()
    page.get_by_label("Sähköposti").fill("hanna.handler@hel.example")
    page.get_by_label("Salasana").fill("not the password")
    page.get_by_role("button", name="Kirjaudu sisään").click()
    assert page.get_by_role("alert").inner_text().strip() == "Väärä sähköpostiosoite tai salasana."
    screenshot(page, "staff-login-failed-fi")
    assert_accessible(page)

    page.get_by_label("Sähköposti").fill("hanna.handler@hel.example")
    page.get_by_label("Salasana").fill(PASSWORD)
    screenshot(page, "staff-login-fi")
    assert_accessible(page)
    page.get_by_role("button", name="Kirjaudu sisään").click()
    page.wait_for_url(re.compile(r"/staff/$"))
    assert page.get_by_role("heading", name="Henkilökunnan etusivu").is_visible()
    main = page.locator("main").inner_text()
    assert "Hanna Käsittelijä" in main and "Käsittelijä" in main
    assert web.live.current.departments[department].display_name("fi") in main
    screenshot(page, "staff-home-fi")
    assert_accessible(page)

    page.get_by_role("button", name="Kirjaudu ulos").click()
    page.wait_for_url(re.compile(r"/staff/login"))
    assert page.get_by_role("status").inner_text().strip() == "Olet kirjautunut ulos."
    page.goto(url(web, "/staff/"))
    page.wait_for_url(re.compile(r"/staff/login$"))  # the session is gone on the server
