"""The public pages' short memory (gateway/web/public_cache.py): the same question in the same language
is answered from memory, anything else afresh; publishing forgets; errors and cookies are never kept."""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import Response

from gateway.web.public_cache import PublicPages


def request(path: str = "/open", query: str = "", method: str = "GET", lang: str = "fi") -> Request:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"accept-language", lang.encode())],
    }
    return Request(scope)


class Renderer:
    """An endpoint that answers a new body each time it is really asked."""

    def __init__(self, status: int = 200, cookie: bool = False) -> None:
        self.calls = 0
        self.status = status
        self.cookie = cookie

    async def __call__(self, request: Request) -> Response:
        self.calls += 1
        response = Response(f"page {self.calls}", self.status, media_type="text/html; charset=utf-8")
        if self.cookie:
            response.set_cookie("x", "y")
        return response


def language(request: Request) -> str:
    return request.headers.get("accept-language", "fi")


def ask(endpoint: object, req: Request) -> Response:
    return asyncio.run(endpoint(req))  # type: ignore[operator]


def test_the_same_query_in_the_same_language_is_answered_from_memory() -> None:
    render = Renderer()
    kept = PublicPages(60).remembered(render, language)
    first = ask(kept, request(query="q=lumi&page=2"))
    again = ask(kept, request(query="page=2&q=lumi"))  # the same query in another order
    assert first.body == again.body == b"page 1" and render.calls == 1
    assert again.headers["content-type"] == "text/html; charset=utf-8"
    assert again.headers["content-length"] == str(len(b"page 1"))


def test_another_query_path_language_or_method_is_answered_afresh() -> None:
    render = Renderer()
    kept = PublicPages(60).remembered(render, language)
    ask(kept, request(query="q=lumi"))
    ask(kept, request(query="q=lunta"))
    ask(kept, request(path="/open/feed.atom", query="q=lumi"))
    ask(kept, request(query="q=lumi", lang="sv"))
    ask(kept, request(query="q=lumi", method="HEAD"))
    assert render.calls == 5


def test_errors_and_answers_with_cookies_are_never_kept() -> None:
    for render in (Renderer(status=404), Renderer(status=503), Renderer(cookie=True)):
        kept = PublicPages(60).remembered(render, language)
        ask(kept, request())
        ask(kept, request())
        assert render.calls == 2


def test_forget_and_the_time_limit_make_the_page_again() -> None:
    render = Renderer()
    pages = PublicPages(0.3)
    kept = pages.remembered(render, language)
    ask(kept, request())
    pages.forget()
    assert ask(kept, request()).body == b"page 2"
    time.sleep(0.35)
    assert ask(kept, request()).body == b"page 3"


def test_zero_seconds_remembers_nothing() -> None:
    render = Renderer()
    kept = PublicPages(0).remembered(render, language)
    assert kept is render


class SlowRenderer(Renderer):
    """A renderer that takes a while, so that others ask while it works; it can be told to fail."""

    def __init__(self, status: int = 200) -> None:
        super().__init__(status)
        self.started = asyncio.Event()

    async def __call__(self, request: Request) -> Response:
        self.started.set()
        await asyncio.sleep(0.05)
        return await super().__call__(request)


def test_a_page_asked_for_by_many_at_once_is_made_once() -> None:
    async def scenario() -> tuple[list[bytes], int]:
        render = SlowRenderer()
        kept = PublicPages(60).remembered(render, language)
        answers = await asyncio.gather(*(kept(request()) for _ in range(20)))
        return [a.body for a in answers], render.calls

    bodies, calls = asyncio.run(scenario())
    assert calls == 1 and bodies == [b"page 1"] * 20


def test_those_waiting_for_an_error_page_ask_on_their_own() -> None:
    async def scenario() -> tuple[list[int], int]:
        render = SlowRenderer(status=500)
        kept = PublicPages(60).remembered(render, language)
        answers = await asyncio.gather(*(kept(request()) for _ in range(5)))
        return [a.status_code for a in answers], render.calls

    statuses, calls = asyncio.run(scenario())
    assert statuses == [500] * 5 and calls == 5  # an error is never handed to another visitor


def test_a_page_being_made_while_a_publication_forgets_is_not_kept() -> None:
    async def scenario() -> tuple[bytes, bytes, int]:
        render = SlowRenderer()
        pages = PublicPages(60)
        kept = pages.remembered(render, language)
        first = asyncio.create_task(kept(request()))
        await render.started.wait()
        pages.forget()  # a moderator publishes while the old page is being made
        made = await first
        after = await kept(request())
        return made.body, after.body, render.calls

    made, after, calls = asyncio.run(scenario())
    assert made == b"page 1" and after == b"page 2" and calls == 2
