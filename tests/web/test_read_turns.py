"""The bound on reads made at once (gateway/web/limits.ReadTurns): GETs beyond it wait their turn, a turn
ends when the answer is made (not when a slow reader has taken it), submissions are never held, and a
failing page gives its turn back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.web.limits import ReadTurns


class Page:
    """An ASGI app whose answers are made when the test says so; it counts the pages in the making."""

    def __init__(self, fail: bool = False) -> None:
        self.making = 0
        self.most = 0
        self.go = asyncio.Event()
        self.fail = fail

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.making += 1
        self.most = max(self.most, self.making)
        await self.go.wait()
        self.making -= 1
        if self.fail:
            raise RuntimeError("the page failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})


def scope(method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": "/"}


async def nothing() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_reads_beyond_the_bound_wait_their_turn() -> None:
    async def run() -> int:
        page = Page()
        turns = ReadTurns(page, 2)
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        tasks = [asyncio.create_task(turns(scope(), nothing, send)) for _ in range(6)]
        await asyncio.sleep(0.01)
        assert page.making == 2
        page.go.set()
        await asyncio.gather(*tasks)
        assert len([m for m in sent if m["type"] == "http.response.body"]) == 6
        return page.most

    assert asyncio.run(run()) == 2


def test_a_turn_ends_when_the_answer_is_made_not_when_it_has_been_read() -> None:
    async def run() -> None:
        page = Page()
        page.go.set()
        turns = ReadTurns(page, 1)
        reader_done = asyncio.Event()

        async def slow_send(message: Any) -> None:
            if message["type"] == "http.response.body":
                await reader_done.wait()  # a reader that takes its time

        async def send(message: Any) -> None:
            pass

        slow = asyncio.create_task(turns(scope(), nothing, slow_send))
        await asyncio.sleep(0.01)
        await asyncio.wait_for(turns(scope(), nothing, send), 1)  # not held up by the slow reader
        reader_done.set()
        await slow

    asyncio.run(run())


def test_submissions_are_not_held_and_no_bound_is_none() -> None:
    async def run(method: str, bound: int) -> int:
        page = Page()
        turns = ReadTurns(page, bound)

        async def send(message: Any) -> None:
            pass

        tasks = [asyncio.create_task(turns(scope(method), nothing, send)) for _ in range(5)]
        await asyncio.sleep(0.01)
        making = page.making
        page.go.set()
        await asyncio.gather(*tasks)
        return making

    assert asyncio.run(run("POST", 1)) == 5
    assert asyncio.run(run("GET", 0)) == 5


def test_a_failing_page_gives_its_turn_back() -> None:
    async def run() -> None:
        page = Page(fail=True)
        page.go.set()
        turns = ReadTurns(page, 1)

        async def send(message: Any) -> None:
            pass

        for _ in range(3):
            with pytest.raises(RuntimeError):
                await asyncio.wait_for(turns(scope(), nothing, send), 1)

    asyncio.run(run())
