"""Public pages remembered a few seconds (issue 18's and 17's read targets; bench/RESULTS.md).

The open column, its feed and the Open311 listing are the same for every visitor who asks the same
question in the same language, and change only when a moderator publishes or withdraws. Each is
rendered once and its bytes served again for `web_public_cache_seconds` (10 s by default; 0: never
remembered): a snowstorm's thousand residents reading the column's first page cost one render, not a
thousand, and the web process keeps its time for the pages that cannot be remembered. Publishing and
withdrawing in this process forget every page at once; in another web process or on another node of a
cluster a page is at most that many seconds behind.

What is never remembered: anything but a `200` to a GET, an answer that sets a cookie, and every page
that is not public (the tracking page, the staff console, the form). The key is the path, the whole
query and the language the page is in, so a visitor never gets a page in another language; the cache
holds at most `MOST` pages, the least recently used going first (a stranger's endless new queries
only push out old pages). A page is made once however many ask for it at once: those who ask while it
is being made wait for it (a thousand residents arriving as a page expires used to make it a thousand
times at once, bench/RESULTS.md, decision 0030); a page made while a publication was forgetting is not
kept.

Written here rather than taken from a library: Starlette has no response cache, and the ones for it
keep their pages in Redis or wrap the whole app; the remembering itself is cachetools' TTLCache."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import Response

MOST = 1024

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class _Kept:
    body: bytes
    headers: tuple[tuple[str, str], ...]


Key = tuple[str, str, str]


class PublicPages:
    def __init__(self, seconds: float, most: int = MOST) -> None:
        self._seconds = seconds
        self._kept: TTLCache[Key, _Kept] = TTLCache(most, ttl=max(seconds, 1e-9))
        self._making: dict[Key, asyncio.Future[_Kept | None]] = {}
        self._generation = 0  # counts the forgettings: a page begun before one is not kept

    def forget(self) -> None:
        """Something public changed (a publication, a withdrawal): every page is made again."""
        self._generation += 1
        self._kept.clear()

    def remembered(self, endpoint: Endpoint, language: Callable[[Request], str]) -> Endpoint:
        """*endpoint*, its `200` answers to GET kept a few seconds by path, query and *language*."""
        if self._seconds <= 0:
            return endpoint

        async def answer(request: Request) -> Response:
            if request.method != "GET":
                return await endpoint(request)
            key = (request.url.path, str(sorted(request.query_params.multi_items())), language(request))
            kept = self._kept.get(key)
            making = self._making.get(key)
            if kept is None and making is not None:  # being made: wait for it
                kept = await asyncio.shield(making)
                if kept is None:  # what was made is not for keeping (an error): ask on our own
                    return await endpoint(request)
            if kept is not None:
                return Response(kept.body, 200, headers=dict(kept.headers))
            return await self._make(key, endpoint, request)

        return answer

    async def _make(self, key: Key, endpoint: Endpoint, request: Request) -> Response:
        made: asyncio.Future[_Kept | None] = asyncio.get_running_loop().create_future()
        self._making[key] = made
        generation = self._generation
        page: _Kept | None = None
        try:
            response = await endpoint(request)
            if response.status_code == 200 and "set-cookie" not in response.headers:
                page = _Kept(bytes(response.body), tuple(response.headers.items()))
                if generation == self._generation:
                    self._kept[key] = page
            return response
        finally:
            del self._making[key]
            made.set_result(page)  # those waiting get the page, or None and ask on their own
