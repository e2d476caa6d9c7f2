"""The browser-test support (tests/support/browser.py) against a tiny site on loopback with a strict CSP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page

from tests.support.browser import SCREENSHOTS, PageMaker, accessibility_violations, screenshot

CSP = "default-src 'self'; script-src 'self'; frame-ancestors 'none'"

HEAD = '<!doctype html><html lang="fi"><head><meta charset="utf-8"><title>{title}</title>{extra}</head>'
SITE: dict[str, tuple[str, str]] = {
    "/": (
        "text/html; charset=utf-8",
        HEAD.format(title="Palaute", extra='<link rel="stylesheet" href="/site.css">')
        + "<body><main><h1>Anna palautetta</h1>"
        '<form method="post" action="/"><label for="message">Viesti</label>'
        '<textarea id="message" name="message"></textarea><button type="submit">Lähetä</button></form>'
        # the CSP forbids inline script: if this ran, the title would change
        "<script>document.title = 'inline script ran'</script>"
        "</main></body></html>",
    ),
    "/bad": (
        "text/html; charset=utf-8",
        HEAD.format(title="Huono", extra="")
        + '<body><main><h1>Huono sivu</h1><img src="/site.css"><input id="nameless" type="text">'
        "</main></body></html>",
    ),
    "/noscript": (
        "text/html; charset=utf-8",
        HEAD.format(title="Ilman skriptiä", extra="")
        + '<body><main><h1>Kartta</h1><noscript><img src="/site.css"></noscript></main></body></html>',
    ),
    "/scripted": (
        "text/html; charset=utf-8",
        HEAD.format(title="Ennen", extra='<script src="/title.js"></script>')
        + "<body><main><h1>Skripti</h1></main></body></html>",
    ),
    "/title.js": ("text/javascript", "document.title = 'Jälkeen';"),
    "/site.css": ("text/css", "body { font-family: 'DejaVu Sans', sans-serif; margin: 2rem; }"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        content_type, text = SITE.get(self.path.split("?", 1)[0], ("text/plain", "not found"))
        body = text.encode()
        self.send_response(200 if self.path.split("?", 1)[0] in SITE else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="test-site", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_axe_runs_under_a_strict_csp_and_passes_a_good_page(page: Page, site: str) -> None:
    response = page.goto(f"{site}/")
    assert response is not None
    assert response.headers["content-security-policy"] == CSP
    assert page.title() == "Palaute"  # the CSP is enforced: the inline script did not run
    assert accessibility_violations(page) == []


def test_axe_finds_what_is_wrong_on_a_bad_page(page: Page, site: str) -> None:
    page.goto(f"{site}/bad")
    found = {v.id: v for v in accessibility_violations(page)}
    assert set(found) == {"image-alt", "label"}
    assert found["image-alt"].impact == "critical"
    assert found["image-alt"].targets == ("img",)
    assert found["label"].targets == ("#nameless",)
    assert found["label"].help_url.startswith("https://dequeuniversity.com/rules/axe/")


def test_a_screenshot_is_a_png_under_var(page: Page, site: str) -> None:
    page.goto(f"{site}/")
    path = screenshot(page, "browser support / front page")
    assert path == SCREENSHOTS / "browser-support-front-page.png"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 1024


def test_a_page_without_javascript_runs_no_script(page: Page, make_page: PageMaker, site: str) -> None:
    page.goto(f"{site}/scripted")
    assert page.title() == "Jälkeen"  # the script is allowed by the CSP and runs with JavaScript on
    plain = make_page(javascript=False, locale="sv-FI")
    plain.goto(f"{site}/scripted")
    assert plain.title() == "Ennen"
    assert plain.evaluate("navigator.language") == "sv-FI"


def test_axe_checks_a_page_without_javascript_as_its_visitor_sees_it(
    page: Page, make_page: PageMaker, site: str
) -> None:
    plain = make_page(javascript=False)
    plain.goto(f"{site}/bad")
    assert {v.id for v in accessibility_violations(plain)} == {"image-alt", "label"}
    plain.goto(f"{site}/")
    assert accessibility_violations(plain) == []
    # <noscript> is shown only without JavaScript, and only then checked
    plain.goto(f"{site}/noscript")
    assert [v.id for v in accessibility_violations(plain)] == ["image-alt"]
    page.goto(f"{site}/noscript")
    assert accessibility_violations(page) == []


def test_asyncio_still_runs_after_the_browser_tests() -> None:
    # Playwright's sync API leaves its loop marked as running on this thread; the plugin hides it here
    assert asyncio.run(asyncio.sleep(0, result=42)) == 42
