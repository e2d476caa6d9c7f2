"""Browser tests of the web front: Debian's Chromium driven by Playwright, axe-core checks, screenshots.

Registered for the whole suite by `pytest_plugins` in tests/conftest.py, so every test may ask for the
fixtures `browser`, `page` and `make_page`; the helpers `new_page`, `screenshot` and
`accessibility_violations` are imported from here.

- The browser is Debian's `chromium` (/usr/bin/chromium, installed by .ci/run), never one that
  `playwright install` downloads: that fails on a machine without internet. Without it the browser tests
  skip, and under CI=true they fail (issue 15, as for PostgreSQL and Dovecot).
- Playwright's sync API keeps its asyncio loop marked as *running* on the main thread between its calls,
  for as long as it lives; `asyncio.run()` then refuses to start ("cannot be called from a running event
  loop"). The hook at the end hides that loop during every test that does not use the browser, so the
  rest of the suite can share one browser session. A test that uses the browser cannot itself call
  `asyncio.run()` on the main thread (a daemon in its own thread, as tests/support/daemon.py runs it, is
  fine), and fixtures holding Playwright objects should be function-scoped (a new context and page
  cost about 0.2 s).
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Collection, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from tests.support.servers import on_ci

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# We run as root (no sandbox), without a GPU, and on a closed network: Chromium's own background
# connections (updates, sync, field trials) would be refused, so it must not try them.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
DEFAULT_LOCALE = "fi-FI"
TIMEOUT_MS = 10_000  # Playwright's 30 s default makes a missing element a long wait
# The level the city is held to (EN 301 549, the EU web accessibility directive): WCAG 2.1 A and AA.
# tags=None runs axe's whole default set instead: best practices and WCAG 2.2 as well.
WCAG21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

_axe = Axe()
# The contexts new_page() made with JavaScript off, with their locale: axe needs page timers, which do
# not fire there (axe.run() would wait forever), so accessibility_violations() checks a copy of the page.
_without_javascript: weakref.WeakKeyDictionary[BrowserContext, str] = weakref.WeakKeyDictionary()
_playwright_loop: asyncio.AbstractEventLoop | None = None


@dataclass(frozen=True)
class Violation:
    """One axe rule the page breaks: what, how badly, and where (a CSS selector per offending node)."""

    id: str
    impact: str
    help: str
    targets: tuple[str, ...]
    help_url: str


class PageMaker(Protocol):
    def __call__(self, *, javascript: bool = True, locale: str = DEFAULT_LOCALE) -> Page: ...


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, started once for the session and closed at its end."""
    global _playwright_loop
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-dejavu-core)"
        if on_ci():
            pytest.fail(f"CI=true and the browser tests need Chromium: {reason}", pytrace=False)
        pytest.skip(reason)
    playwright: Playwright = sync_playwright().start()
    _playwright_loop = asyncio.get_running_loop()  # marked running on this thread by start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
    except BaseException:
        playwright.stop()
        _playwright_loop = None
        raise
    try:
        yield chromium
    finally:
        _show_playwright_loop()  # the session may end in a test that does not use the browser
        chromium.close()
        playwright.stop()
        _playwright_loop = None


def new_page(browser: Browser, *, javascript: bool = True, locale: str = DEFAULT_LOCALE) -> Page:
    """A page in a context of its own (1280x900, `locale` for Accept-Language and `navigator.language`).
    The caller closes it with `page.context.close()`; the `page` and `make_page` fixtures do that."""
    context = browser.new_context(viewport=VIEWPORT, locale=locale, java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    if not javascript:
        _without_javascript[context] = locale
    return context.new_page()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page with JavaScript on, in Finnish, closed after the test."""
    fresh = new_page(browser)
    yield fresh
    fresh.context.close()


@pytest.fixture
def make_page(browser: Browser) -> Iterator[PageMaker]:
    """`make_page(javascript=False, locale="sv-FI")`: pages of other settings, closed after the test."""
    made: list[Page] = []

    def make(*, javascript: bool = True, locale: str = DEFAULT_LOCALE) -> Page:
        made.append(new_page(browser, javascript=javascript, locale=locale))
        return made[-1]

    yield make
    for each in made:
        each.context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as var/screenshots/<name>.png for a person to look at; return the path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:120] or "page"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def accessibility_violations(
    page: Page,
    impacts: Collection[str] = ("serious", "critical"),
    *,
    tags: Sequence[str] | None = WCAG21_AA,
) -> list[Violation]:
    """The axe-core violations of the page as it is now, of the given impacts, for `assert ... == []`.

    axe is injected through the DevTools protocol, which the page's Content-Security-Policy does not
    govern: it runs under `script-src 'self'` without `bypass_csp` (tests/test_browser_support.py)."""
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if tags is not None:
        options["runOnly"] = {"type": "tag", "values": list(tags)}
    locale = _without_javascript.get(page.context)
    if locale is None:
        response = _axe.run(page, options=options).response
    else:
        copy = _copy_with_javascript(page, locale)
        try:
            response = _axe.run(copy, options=options).response
        finally:
            copy.context.close()
    return [
        Violation(
            id=v["id"],
            impact=v["impact"],
            help=v["help"],
            targets=tuple(_selector(node["target"][0]) for node in v["nodes"]),
            help_url=v["helpUrl"],
        )
        for v in response["violations"]
        if v["impact"] in impacts
    ]


def _copy_with_javascript(page: Page, locale: str) -> Page:
    """The DOM of a page without JavaScript, at its URL, in a context where axe's timers run. Its
    document is the serialised DOM under `script-src 'none'`, so the page's own scripts still do not
    run, and its stylesheets and images come from the server (colour contrast needs the CSS).
    `<noscript>` becomes a `<div>`: with JavaScript on it would be parsed as text and never checked."""
    if not page.url.startswith(("http://", "https://")):
        raise ValueError(f"accessibility_violations needs a JavaScript-off page served over HTTP: {page.url}")
    html = re.sub(r"<(/?)noscript\b", r"<\1div", page.content(), flags=re.IGNORECASE)
    document = page.url.split("#", 1)[0]
    browser = page.context.browser
    assert browser is not None
    copy = new_page(browser, locale=locale)
    copy.route(
        lambda url: url == document,
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": "script-src 'none'"},
            body=html,
        ),
    )
    copy.set_viewport_size(page.viewport_size or VIEWPORT)
    copy.goto(page.url)
    return copy


def _selector(target: object) -> str:
    """axe names a node by a CSS selector, or by a list of them through iframes and shadow roots."""
    return " >>> ".join(map(str, target)) if isinstance(target, list) else str(target)


def _show_playwright_loop() -> None:
    if _playwright_loop is not None and asyncio._get_running_loop() is None:
        asyncio._set_running_loop(_playwright_loop)


def _hide_playwright_loop() -> None:
    if _playwright_loop is not None and asyncio._get_running_loop() is _playwright_loop:
        asyncio._set_running_loop(None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Show Playwright's loop to the tests that use the browser and hide it from the others."""
    if "browser" in getattr(item, "fixturenames", ()):
        _show_playwright_loop()
    else:
        _hide_playwright_loop()
    try:
        return (yield)
    finally:
        _hide_playwright_loop()
