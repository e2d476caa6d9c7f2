"""The receipt port's writer (`gateway.intake.ports.Receiver`) for the channels in the event loop. Group
commit: every channel awaits its own row,
one writer commits all that are waiting in one durable transaction (decisions 0009-0016)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import structlog

from gateway.errors import StorageError
from gateway.model.receipt import NewReceipt, ReceiptId, Stored
from gateway.store.db import Database
from gateway.store.receipts import store_receipts

log = structlog.get_logger(__name__)


class ReceiptWriter:
    """Commits receipts in groups and resolves each caller's future only after the commit.

    One commit per message tops out at 600–815 per second on SQLite with full durability; committing
    every receipt that is waiting in one transaction reaches 820–985 with a lower p99 (docs/findings.md).
    A caller never gets an id unless its row is durable, and gets StorageError if the commit failed.

    The commit runs in a thread of the writer's own, not in the event loop's default executor: the web
    front's reads share that one, and a mail's `250` must not queue behind a slow page (bench/RESULTS.md,
    issue 17: SMTP's accept p99 rose to the listing's 3 s while both shared the six default threads).
    """

    def __init__(self, db: Database, clock: Callable[[], datetime], max_batch: int = 256) -> None:
        self._db = db
        self._clock = clock
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[NewReceipt, asyncio.Future[Stored]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: ThreadPoolExecutor | None = None
        self.committed = asyncio.Event()  # set after each commit: wakes the intake worker

    async def receive(self, item: NewReceipt) -> ReceiptId:
        """Return the id of *item*'s receipt once it is committed."""
        return (await self.submit(item)).id

    async def submit(self, item: NewReceipt) -> Stored:
        """What *item* became once committed: its receipt, or the one its idempotency key named."""
        if self._task is None or self._task.done():
            raise StorageError("receipt writer is not running")
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await asyncio.shield(future)  # a dropped client must not cancel a commit in hand

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="receipt-writer")
        self._task = asyncio.create_task(self._run(), name="receipt-writer")

    def committed_elsewhere(self) -> None:
        """Another thread committed receipts (an IMAP reader): wake intake, from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.committed.set)

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._thread is not None:
            self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                items = [item for item, _ in batch]
                answers = await asyncio.get_running_loop().run_in_executor(self._thread, self._commit, items)
            except Exception as exc:  # the worker-loop catch-all: every waiting sender gets a 451
                log.error("receipt commit failed", error=str(exc), count=len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(StorageError(str(exc)))
            else:
                for (_, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
                self.committed.set()
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _commit(self, items: list[NewReceipt]) -> list[Stored]:
        return self._db.write_eagerly(lambda conn: store_receipts(conn, items, self._clock()))
