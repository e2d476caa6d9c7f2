"""Rate limits of the web front: a token bucket per client address and one for all clients together,
in the memory of the process that serves the web (one process takes the web's requests on a node by
default; several web processes, like a cluster's nodes, multiply the limits by their number, which is what
a per-process front door means). `429` with `Retry-After`.

Written here rather than taken from a library: the few that exist for Starlette keep their state in Redis
or wrap every route, and what is needed is 40 lines (docs/decisions/0027-web-front-door.md)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_CLIENTS = 100_000  # buckets kept; the least recently seen go first (an address-spraying flood)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """*per_client* requests a minute from one address and *overall* from all (0: no limit)."""

    def __init__(self, per_client: int, overall: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_client = per_client
        self._overall = overall
        self._clock = clock
        self._clients: OrderedDict[str, _Bucket] = OrderedDict()
        self._all = _Bucket(float(overall), clock())

    def check(self, client: str) -> float:
        """Take one request for *client*: 0.0 if it may go on, else the seconds to wait."""
        now = self._clock()
        wait = 0.0
        if self._per_client:
            bucket = self._clients.pop(client, None) or _Bucket(float(self._per_client), now)
            self._clients[client] = bucket  # most recently seen last
            if len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
            wait = _take(bucket, self._per_client, now)
        if not wait and self._overall:
            wait = _take(self._all, self._overall, now)
        return wait


def _take(bucket: _Bucket, per_minute: int, now: float) -> float:
    rate = per_minute / 60.0
    bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.at) * rate)
    bucket.at = now
    if bucket.tokens >= 1.0:
        bucket.tokens -= 1.0
        return 0.0
    return (1.0 - bucket.tokens) / rate


def retry_after(wait: float) -> str:
    """The `Retry-After` header's whole seconds (at least 1)."""
    return str(max(1, math.ceil(wait)))


class ReadTurns:
    """At most *turns* GET and HEAD requests made at once; the others wait their turn without costing the
    event loop anything (0: no bound). The web shares the accepting process's loop with SMTP, and each
    request in hand puts its steps in the loop's queue ahead of a mail's: bounding the reads in hand
    bounds how long a mail's step waits behind them (bench/RESULTS.md, issue 17; decision 0029).
    Submissions are not bounded here: they are few and rate-limited, and a slow upload must not hold a
    turn. A turn ends when the answer is made (its start is sent), not when a slow reader has it all."""

    def __init__(self, app: ASGIApp, turns: int) -> None:
        self._app = app
        self._turns = asyncio.Semaphore(turns) if turns > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._turns is None or scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self._app(scope, receive, send)
            return
        turns = self._turns
        await turns.acquire()
        held = True

        async def sending(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":  # made: a slow reader holds no turn
                held = False
                turns.release()
            await send(message)

        try:
            await self._app(scope, receive, sending)
        finally:
            if held:
                turns.release()
