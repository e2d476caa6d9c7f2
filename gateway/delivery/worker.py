"""The outbox worker: claims what is due, delivers it, records the result, retries with backoff, parks."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog

from gateway.delivery.transports import BatchTransport, Transport
from gateway.errors import DeliveryError, PermanentFailure, TemporaryFailure
from gateway.store import outbox
from gateway.store.db import Database
from gateway.store.outbox import Claimed

log = structlog.get_logger(__name__)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at an hour, with jitter so that an outage does not end in a stampede."""
    seconds = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        transports: Mapping[str, Transport],
        clock: Callable[[], datetime],
        owner: str,
        max_attempts: int = 8,
        batch: int = 64,
        lease: timedelta = timedelta(minutes=5),
        concurrency: int = 8,
    ) -> None:
        self._db = db
        self._transports = transports
        self._clock = clock
        self._owner = owner
        self._max_attempts = max_attempts
        self._batch = batch
        self._lease = lease
        self._slots = asyncio.Semaphore(concurrency)

    @property
    def batch(self) -> int:
        """The most messages a round claims."""
        return self._batch

    async def run_once(self) -> int:
        """Deliver one batch of due messages; return how many were claimed."""
        claimed = await asyncio.to_thread(
            outbox.claim_due, self._db, self._owner, self._batch, self._clock(), self._lease
        )
        if not claimed:
            return 0
        results = await self._deliver_all(claimed)
        now = self._clock()
        sent = [item.id for item, error in zip(claimed, results, strict=True) if error is None]
        failed: list[tuple[int, str, datetime | None]] = []
        for item, error in zip(claimed, results, strict=True):
            if error is None:
                continue
            text, permanent = error
            give_up = permanent or item.attempts >= self._max_attempts
            retry_at = None if give_up else now + backoff(item.attempts)
            failed.append((item.id, text, retry_at))
            log.log(
                40 if give_up else 30,
                "delivery parked" if give_up else "delivery will be retried",
                outbox_id=item.id,
                kind=item.kind,
                attempts=item.attempts,
                error=text,
                retry_at=retry_at.isoformat() if retry_at else None,
            )
        await asyncio.to_thread(outbox.record_results, self._db, self._owner, now, sent, failed)
        return len(claimed)

    async def _deliver_all(self, claimed: list[Claimed]) -> list[tuple[str, bool] | None]:
        """Deliver a batch: per transport at once where it can (the maildir), else item by item."""
        results: dict[int, tuple[str, bool] | None] = {}
        singles: list[Claimed] = []
        for name in {item.transport for item in claimed}:
            transport = self._transports.get(name)
            items = [item for item in claimed if item.transport == name]
            if not isinstance(transport, BatchTransport):
                singles.extend(items)
                continue
            try:
                errors = await transport.deliver_many(items)
            except Exception as exc:  # a transport bug: retry, then park; never kill the worker
                log.exception("transport failed unexpectedly", transport=name)
                errors = [TemporaryFailure(f"{type(exc).__name__}: {exc}")] * len(items)
            for item, error in zip(items, errors, strict=True):
                results[item.id] = self._result(item, error)
        for item, result in zip(
            singles, await asyncio.gather(*(self._deliver(i) for i in singles)), strict=True
        ):
            results[item.id] = result
        return [results[item.id] for item in claimed]

    @staticmethod
    def _result(item: Claimed, error: DeliveryError | None) -> tuple[str, bool] | None:
        """What one delivery came to: None when delivered (and logged), else (reason, permanent)."""
        if error is None:
            log.info("delivered", outbox_id=item.id, kind=item.kind, transport=item.transport)
            return None
        return str(error), isinstance(error, PermanentFailure)

    async def _deliver(self, item: Claimed) -> tuple[str, bool] | None:
        """None when delivered, else (reason, permanent)."""
        transport = self._transports.get(item.transport)
        if transport is None:
            return self._result(item, PermanentFailure(f"no transport {item.transport!r} configured"))
        async with self._slots:
            try:
                await transport.deliver(item)
            except DeliveryError as exc:
                return self._result(item, exc)
            except Exception as exc:  # a transport bug: retry, then park; never kill the worker
                log.exception("transport failed unexpectedly", outbox_id=item.id)
                return self._result(item, TemporaryFailure(f"{type(exc).__name__}: {exc}"))
        return self._result(item, None)
