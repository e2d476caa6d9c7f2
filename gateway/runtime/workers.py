"""Worker processes: intake, outbox and deadlines beside the process that accepts mail, on the other core.

Python runs one thread at a time, so one process could not both answer SMTP quickly and parse, route and
compose at full speed (bench/RESULTS.md). `gateway run` therefore starts `workers` children running
`gateway work`. Each child's standard input is a pipe from the parent: a byte on it means "receipts were
committed" (so the child wakes at once instead of polling), and its end means the parent is gone, even
by SIGKILL, so the child drains what it holds and exits: no orphans. Exactly-once does not depend on
any of this: every claim is leased in the database (docs/decisions/0007-worker-processes.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

RESTART_DELAY = 2.0
STOP_GRACE = 60.0


def _child_setup(niceness: int) -> Callable[[], None]:
    def setup() -> None:
        """In the child before exec: a reload signal forwarded while it still starts must not kill it (the
        default action of SIGHUP); an ignored signal stays ignored across exec until the child's own
        handler. The lower priority lets the accepting process answer SMTP first when the CPU is busy:
        the work waits safely in the database, a sender waiting for its 250 does not."""
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if niceness > 0:
            # A sandbox may forbid it (systemd's @resources filter): then the worker runs at the
            # parent's priority rather than not at all.
            with contextlib.suppress(OSError):
                os.nice(niceness)

    return setup


def worker_plans(count: int) -> list[str]:
    """What each of *count* workers runs. One worker runs everything. Of several, the first delivers mail
    and fires deadlines, the others take receipts in: intake is the heavy stage (parsing, routing,
    composing), and in one process the outbox and intake would share one core and one interpreter
    lock (docs/decisions/0007-worker-processes.md)."""
    if count == 1:
        return ["intake,outbox,deadlines"]
    return ["outbox,deadlines" if slot == 0 else "intake" for slot in range(count)]


class WorkerPool:
    """Children running `gateway work --loops PLAN`, one per plan, each restarted when it dies.

    *pass_fds* are inherited by every child (the web front's listening socket, given with *extra*
    arguments); *on_commit* is called for every byte a child writes on its standard output: a web process
    says so when it committed receipts, and the parent wakes the intake workers (gateway/runtime/services.py).
    """

    def __init__(
        self,
        plans: Sequence[str],
        settings_file: Path | None,
        wake: asyncio.Event,
        niceness: int = 0,
        on_exit: Callable[[], Awaitable[None]] | None = None,
        *,
        extra: Sequence[str] = (),
        pass_fds: Sequence[int] = (),
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._plans = list(plans)
        self._on_exit = on_exit
        self._niceness = niceness
        self._settings_file = settings_file
        self._wake = wake
        self._extra = list(extra)
        self._pass_fds = tuple(pass_fds)
        self._on_commit = on_commit
        self._children: list[asyncio.subprocess.Process | None] = [None] * len(self._plans)

    def loops(self, slot: int) -> str:
        """What the worker in *slot* runs."""
        return self._plans[slot]

    def _command(self, slot: int) -> list[str]:
        command = [sys.executable, "-m", "gateway"]
        if self._settings_file is not None:
            command += ["--settings", str(self._settings_file)]
        return [*command, "work", "--loops", self.loops(slot), *self._extra]

    async def run(self, stopping: asyncio.Event) -> None:
        """Keep the children running until *stopping*; then let them drain and wait for them. Workers that
        take receipts in stop first, so that the one delivering mail still sends what they queued last."""
        intake_stopped = asyncio.Event()
        async with asyncio.TaskGroup() as tasks:
            slots = range(len(self._plans))
            intake = [
                tasks.create_task(self._keep(slot, stopping), name=f"worker-{slot}")
                for slot in slots
                if "intake" in self.loops(slot)
            ]
            for slot in slots:
                if "intake" not in self.loops(slot):
                    tasks.create_task(self._keep(slot, intake_stopped), name=f"worker-{slot}")
            tasks.create_task(self._forward_wakes(stopping), name="worker-wakes")
            await asyncio.gather(*intake)
            await stopping.wait()
            intake_stopped.set()

    async def _keep(self, slot: int, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            child = await asyncio.create_subprocess_exec(
                *self._command(slot),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE if self._on_commit is not None else None,
                preexec_fn=_child_setup(self._niceness),
                pass_fds=self._pass_fds,
            )
            self._children[slot] = child
            log.info("worker started", slot=slot, pid=child.pid, loops=self.loops(slot))
            reports = None
            if child.stdout is not None and self._on_commit is not None:
                reports = asyncio.create_task(_read_reports(child.stdout, self._on_commit))
            exited = asyncio.create_task(child.wait())
            stop = asyncio.create_task(stopping.wait())
            await asyncio.wait((exited, stop), return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if exited.done():
                log.error("worker exited; restarting it", slot=slot, pid=child.pid, status=exited.result())
                if reports is not None:
                    await reports
                if self._on_exit is not None:  # its leases go now, not when they expire (issue 13)
                    await self._on_exit()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), RESTART_DELAY)
                continue
            await self._stop_child(child)
            exited.cancel()
            if reports is not None:  # the child's standard output closed with it
                await reports

    @staticmethod
    async def _stop_child(child: asyncio.subprocess.Process) -> None:
        """Close the lifeline: the child finishes what it holds and exits; kill it only if it hangs."""
        if child.stdin is not None:
            child.stdin.close()
        try:
            status = await asyncio.wait_for(child.wait(), STOP_GRACE)
        except TimeoutError:
            log.error("worker did not stop in time; killed", pid=child.pid)
            child.kill()
            status = await child.wait()
        log.info("worker stopped", pid=child.pid, status=status)

    async def _forward_wakes(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stopping.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
            self._wake.clear()
            for child in self._children:
                if child is not None and child.stdin is not None and not child.stdin.is_closing():
                    with contextlib.suppress(ConnectionError):
                        child.stdin.write(b".")

    def signal_all(self, sig: signal.Signals) -> None:
        for child in self._children:
            if child is not None and child.returncode is None:
                child.send_signal(sig)


async def _read_reports(stdout: asyncio.StreamReader, on_commit: Callable[[], None]) -> None:
    """A child's reports until it exits (its standard output closes)."""
    while await stdout.read(4096):
        on_commit()


async def report_commits(committed: asyncio.Event) -> None:
    """In a web process: a byte on standard output each time its receipt writer committed, so that the
    parent wakes the intake workers at once (they would see the receipts at their next poll anyway)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout)
    try:
        while True:
            await committed.wait()
            committed.clear()
            if transport.is_closing():
                return
            transport.write(b".")
    finally:
        transport.close()


async def lifeline(wake: asyncio.Event, parent_gone: asyncio.Event) -> None:
    """In a worker: wake on every byte from the parent; when the pipe closes, the parent is gone."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while chunk := await reader.read(4096):
        if chunk:
            wake.set()
    log.info("parent process gone or stopping; draining")
    parent_gone.set()
