"""Issue 13: when a worker process dies, the accepting process releases its leases before restarting it,
so the surviving workers (or the next one) take its claims at once instead of when the leases expire."""

from __future__ import annotations

import asyncio
import sys

import pytest

from gateway.runtime.workers import WorkerPool, worker_plans


def test_the_parent_releases_a_dead_workers_leases_when_it_restarts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exits: list[str] = []

    async def scenario() -> None:
        stop = asyncio.Event()

        async def on_exit() -> None:
            exits.append("released")
            stop.set()

        pool = WorkerPool(worker_plans(1), None, asyncio.Event(), on_exit=on_exit)
        # A worker that dies at once, as a crashed `gateway work` would.
        monkeypatch.setattr(pool, "_command", lambda slot: [sys.executable, "-c", "raise SystemExit(3)"])
        await asyncio.wait_for(pool.run(stop), 30)

    asyncio.run(scenario())
    assert exits == ["released"]
