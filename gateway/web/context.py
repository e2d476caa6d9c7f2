"""What the web front's pages and APIs are given by the composition root: the receipt port, the
database to read from, the configuration in force, the clock and the settings they need."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import ParamSpec, TypeVar

from cachetools import TTLCache

from gateway.casework.console import ConsoleDesk
from gateway.intake.ports import Receiver
from gateway.rules import Config
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.web.limits import RateLimiter
from gateway.web.public_cache import PublicPages

P = ParamSpec("P")
T = TypeVar("T")

# Threads the web front's database reads run in: a page waits for one rather than crowding the event
# loop's default executor. Few, because on two cores more threads only share the GIL and the disks, and
# because SMTP's commit has its thread of its own (gateway.intake.receive); bench/RESULTS.md, issue 17.
READ_THREADS = 4


@dataclass(frozen=True, slots=True)
class WebContext:
    receiver: Receiver  # every submission goes in here, and is answered only after it returns
    db: Database  # read only: pages read through the store's read side
    config: Callable[[], Config]  # the configuration in force (categories, department names, areas)
    settings: Settings
    clock: Callable[[], datetime]
    form_key: bytes  # signs form tokens and answer-page links (derived from the reply secret)
    posts: RateLimiter = field(default_factory=lambda: RateLimiter(0, 0))  # form, webhook, Open311 POSTs
    lookups: RateLimiter = field(default_factory=lambda: RateLimiter(0, 0))  # tracking-code look-ups
    console: ConsoleDesk | None = None  # what staff do to a case from the console (issue 18)
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(READ_THREADS, thread_name_prefix="web-read")
    )
    # An API client's key (webhook secret, Open311 api_key), remembered `web_client_key_seconds`: reading
    # it for every request was a fifth of the accepting process's work under load (bench/RESULTS.md, 17)
    client_keys: TTLCache[tuple[str, str], str | None] = field(init=False)
    public: PublicPages = field(init=False)  # the public pages remembered a few seconds

    def __post_init__(self) -> None:
        seconds = max(self.settings.web_client_key_seconds, 1e-9)  # 0: each entry is stale at once
        object.__setattr__(self, "client_keys", TTLCache(maxsize=4096, ttl=seconds))
        object.__setattr__(self, "public", PublicPages(self.settings.web_public_cache_seconds))

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """*fn* in one of the web front's read threads (a database read, a password hash)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, lambda: fn(*args, **kwargs))

    async def client_key(self, kind: str, given: str, read: Callable[[str], str | None]) -> str | None:
        """What *read* gives for the client key *given* of *kind*, remembered a few seconds."""
        if self.settings.web_client_key_seconds <= 0:
            return await self.run(read, given)
        try:
            return self.client_keys[kind, given]
        except KeyError:
            found = await self.run(read, given)
            self.client_keys[kind, given] = found
            return found

    def close(self) -> None:
        """Let the read threads end once the server has answered its last request."""
        self.pool.shutdown(wait=False)

    @property
    def prefix(self) -> str:
        return self.settings.code_prefix

    def track_url(self, code: str) -> str:
        """The tracking page of *code*, as residents reach it (in mail and in API answers)."""
        return f"{self.settings.web_url}/track/{code}"
