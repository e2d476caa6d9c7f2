"""The daemon's services: each a name, an `async run(stopping)` and the stage it stops in.

On SIGTERM the stages stop in order, each once every service of the stages before it has returned:
ACCEPT (stop taking mail in: SMTP answers what it holds, the receipt writer commits what waits, IMAP readers
finish the message in hand; configuration reloads and deadline rounds end), then PROCESS (intake settles
every committed receipt; worker processes drain and exit), then DELIVER (the outbox sends what the last
rounds queued). So nothing accepted is left unprocessed and nothing processed is left unsent by a clean
stop. A new loop (the HTTP app, a periodic job, metrics) is one more `Service` in `services_for`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import structlog

from gateway.errors import SettingsError
from gateway.rules.live import config_stamp
from gateway.runtime.build import Gateway
from gateway.runtime.workers import WorkerPool, lifeline, report_commits, worker_plans
from gateway.settings import Settings
from gateway.web.server import listen

log = structlog.get_logger(__name__)

Role = Literal["all", "accept", "work"]
ALL_LOOPS = frozenset({"intake", "outbox", "deadlines"})
WEB = "web"  # the loop of a web process: `gateway work --loops web --http-fd N`


class Stage(enum.IntEnum):
    ACCEPT = 0
    PROCESS = 1
    DELIVER = 2


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    run: Callable[
        [asyncio.Event], Coroutine[Any, Any, None]
    ]  # returns once *stopping* is set and its work is done
    stage: Stage = Stage.ACCEPT
    start: Callable[[], Awaitable[None]] | None = None  # before the daemon says it runs (SMTP listens)
    on_reload: Callable[[], None] | None = None  # SIGHUP


async def wait_any(events: tuple[asyncio.Event, ...], seconds: float | None) -> None:
    """Return when one of *events* is set, or after *seconds* (work another node committed shows up then)."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def guarded(name: str, step: Callable[[], Awaitable[int]], stopping: asyncio.Event) -> int:
    """Run one step of a loop; a failure is logged and retried after a pause, never fatal."""
    try:
        return await step()
    except Exception:  # the worker-loop catch-all (STYLE.md): the loop must outlive a bad round
        log.exception("worker round failed; retrying", worker=name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), 2.0)
        return 0


def services_for(
    gw: Gateway,
    role: Role,
    loops: frozenset[str] = ALL_LOOPS,
    settings_file: Path | None = None,
    request_stop: Callable[[], None] = lambda: None,
    web_socket: socket.socket | None = None,
) -> list[Service]:
    """The services of one process. "all" does everything, the web front included; "accept" takes mail
    in and runs the worker processes and the web processes; "work" is such a process, running *loops*
    (gateway/runtime/workers.py): intake, outbox, deadlines, or the web front on *web_socket*, which the
    accepting process bound."""
    s = gw.settings
    accepts = role in ("all", "accept")
    if role == "accept" and s.worker_processes > 0:
        loops = frozenset[str]()
    queued = asyncio.Event()  # intake or a deadline queued mail: the outbox looks at once
    found: list[Service] = [_config(gw)]
    if accepts:
        # Each way in sets its event once it has stopped and answered what it held; then the receipt
        # writer commits the last receipts and stops.
        closed = {name: asyncio.Event() for name in ("smtp", "imap", "http")}
        doors = [_smtp(gw, closed["smtp"]), _imap(gw, closed["imap"])]
        if s.http_enabled and role == "accept" and s.web_process_count > 0:
            doors.append(_web_processes(gw, closed["http"], settings_file))
        elif s.http_enabled:
            doors.append(_http(gw, closed["http"]))
        found += [_receipts(gw, [closed[d.name] for d in doors]), *doors]  # the writer starts first
    elif WEB in loops:
        closed_web = asyncio.Event()
        found += [_receipts(gw, [closed_web]), _http(gw, closed_web, web_socket), _reports(gw)]
    if "deadlines" in loops:
        found.append(_deadlines(gw, queued))
    if "intake" in loops:
        found.append(_intake(gw, queued))
    if "outbox" in loops:
        found.append(_outbox(gw, queued, fast_idle="intake" not in loops))
    if role == "accept" and s.worker_processes > 0:
        found.append(_workers(gw, settings_file))
    if role == "work":
        # A web process is woken by nobody: its lifeline only tells it that the parent is gone.
        found.append(_lifeline(gw, request_stop, asyncio.Event() if WEB in loops else gw.writer.committed))
    return found


def _config(gw: Gateway) -> Service:
    """Reload the configuration on SIGHUP and when one of its files changes."""
    wanted = asyncio.Event()
    stamp: object = None

    async def start() -> None:
        # Taken before the daemon says it has started, so that an edit made as soon as it has is seen:
        # taken in `run`, an edit in between was the stamp itself and went unnoticed until the next one.
        nonlocal stamp
        stamp = await asyncio.to_thread(config_stamp, gw.settings)

    async def run(stopping: asyncio.Event) -> None:
        nonlocal stamp
        settings = gw.settings
        every = settings.config_poll_seconds or 3600.0
        while not stopping.is_set():
            await wait_any((wanted, stopping), every)
            if stopping.is_set():
                return
            fresh = await asyncio.to_thread(config_stamp, settings)
            if wanted.is_set() or (settings.config_poll_seconds and fresh != stamp):
                wanted.clear()
                stamp = fresh
                await guarded("config", reload, stopping)

    async def reload() -> int:
        return int(await asyncio.to_thread(gw.live.reload))

    return Service("config", run, on_reload=wanted.set, start=start)


def _receipts(gw: Gateway, closed: list[asyncio.Event]) -> Service:
    """The receipt writer every way in commits through: started first, and stopped only once every
    way in (SMTP, IMAP, HTTP) has answered what it holds, so that nothing in hand misses its commit."""

    async def start() -> None:
        gw.writer.start()

    async def run(stopping: asyncio.Event) -> None:
        await stopping.wait()
        for event in closed:
            await event.wait()
        await gw.writer.stop()  # commit what senders are waiting for

    return Service("receipts", run, start=start)


def _smtp(gw: Gateway, closed: asyncio.Event) -> Service:
    async def start() -> None:
        s = gw.settings
        try:
            await gw.smtp.start()
        except OSError as exc:
            raise _cannot_listen("SMTP", "smtp", s.smtp_host, s.smtp_port, exc) from exc

    async def run(stopping: asyncio.Event) -> None:
        await stopping.wait()
        await gw.smtp.stop()  # stop accepting; every DATA in hand gets its commit and its answer
        closed.set()

    return Service("smtp", run, start=start)


def _http(gw: Gateway, closed: asyncio.Event, sock: socket.socket | None = None) -> Service:
    """The web front (issue 17): stops accepting, and lets the requests in flight get their answers. In a
    web process, on the socket the accepting process bound and listens on."""

    async def start() -> None:
        await gw.http.start(sock or _web_socket(gw.settings))
        if sock is None:  # the accepting process itself; a web process's parent said it already
            log.info("web front listening", host=gw.settings.http_host, port=gw.http.port)

    async def run(stopping: asyncio.Event) -> None:
        await stopping.wait()
        await gw.http.stop()
        gw.web.close()
        closed.set()

    return Service("http", run, start=start)


def _web_processes(gw: Gateway, closed: asyncio.Event, settings_file: Path | None) -> Service:
    """The web front in processes of its own (`web_processes`, docs/decisions/0030-web-processes.md): this
    process binds the socket and listens, so that the port is taken before the daemon says it runs and
    connections wait in the kernel's queue while a web process starts or is restarted; the web processes
    inherit it and answer. On stop each web process stops accepting, answers the requests in flight and
    commits their receipts; then the socket closes here."""
    s = gw.settings
    sock: socket.socket | None = None
    pool: WorkerPool | None = None

    async def start() -> None:
        nonlocal sock, pool
        sock = _web_socket(s)
        pool = WorkerPool(
            [WEB] * s.web_process_count,
            settings_file,
            asyncio.Event(),  # web processes need no wake-ups from here
            s.worker_niceness,
            extra=["--http-fd", str(sock.fileno())],
            pass_fds=[sock.fileno()],
            on_commit=gw.writer.committed.set,  # their receipts: the intake workers look at once
        )
        port = int(sock.getsockname()[1])
        log.info("web front listening", host=s.http_host, port=port, processes=s.web_process_count)

    async def run(stopping: asyncio.Event) -> None:
        assert sock is not None and pool is not None
        try:
            await pool.run(stopping)
        finally:
            sock.close()
            closed.set()

    def reload() -> None:  # SIGHUP: the web processes read the configuration again too
        if pool is not None:
            pool.signal_all(signal.SIGHUP)

    return Service("http", run, start=start, on_reload=reload)


def _cannot_listen(what: str, prefix: str, host: str, port: int, exc: OSError) -> SettingsError:
    reason = exc.strerror or str(exc)
    return SettingsError(
        f"cannot listen for {what} on {host}:{port}: {reason} (settings {prefix}_host and {prefix}_port)"
    )


def _web_socket(s: Settings) -> socket.socket:
    try:
        return listen(s.http_host, s.http_port)
    except OSError as exc:
        raise _cannot_listen("the web front", "http", s.http_host, s.http_port, exc) from exc


def _reports(gw: Gateway) -> Service:
    """In a web process: tell the accepting process when receipts were committed (runtime/workers.py)."""

    async def run(stopping: asyncio.Event) -> None:
        task = asyncio.create_task(report_commits(gw.writer.committed))
        await stopping.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return Service("reports", run, Stage.PROCESS)


def _imap(gw: Gateway, closed: asyncio.Event) -> Service:
    async def run(stopping: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as readers:  # a reader finishes the message in hand
            for reader in gw.imap:
                readers.create_task(reader.run(stopping), name=f"imap-{reader.mailbox.name}")
        closed.set()

    return Service("imap", run)


def _intake(gw: Gateway, queued: asyncio.Event) -> Service:
    async def start() -> None:
        gw.intake.start()  # the parser processes, before the first round needs them

    async def run(stopping: asyncio.Event) -> None:
        """Work while there is work; once stopping, drain what was committed, then stop the parsers."""
        committed = gw.writer.committed
        batch, idle = gw.settings.intake_batch, gw.settings.poll_interval
        try:
            while True:
                committed.clear()
                count = await guarded("intake", lambda: gw.intake.run_once_async(batch), stopping)
                if count:
                    queued.set()
                    continue
                if stopping.is_set():
                    return
                await wait_any((committed, stopping), idle)
        finally:
            await asyncio.to_thread(gw.intake.close)

    return Service("intake", run, Stage.PROCESS, start=start)


def _outbox(gw: Gateway, queued: asyncio.Event, fast_idle: bool) -> Service:
    # Without intake in this process (a worker of several) nothing here says when intake queued mail:
    # look often, a cheap indexed query, so that receipts go out promptly.
    idle = min(gw.settings.poll_interval, 0.1) if fast_idle else gw.settings.poll_interval

    async def run(stopping: asyncio.Event) -> None:
        worker = gw.outbox
        while not stopping.is_set():
            queued.clear()
            count = await guarded("outbox", worker.run_once, stopping)
            # Straight on only after a full batch: a batch of a few mails costs the same four fsyncs (claim,
            # files, folder, results) as a full one, and at 200 mails a second the outbox process spent
            # 2 ms of CPU a message mostly in the kernel. A mail waits at most `idle` longer.
            if count < worker.batch:
                await wait_any((queued, stopping), idle)
        # Deliver what the last batches owe; a failing relay reschedules its rows, so this ends.
        while await guarded("outbox", worker.run_once, stopping):
            pass

    return Service("outbox", run, Stage.DELIVER)


def _deadlines(gw: Gateway, queued: asyncio.Event) -> Service:
    async def run(stopping: asyncio.Event) -> None:
        """Fire due deadline tasks until asked to stop; what is left, any node fires in its next round."""
        while not stopping.is_set():
            if await guarded("deadlines", gw.deadlines.run_once, stopping):
                queued.set()
                continue
            await wait_any((stopping,), gw.settings.poll_interval)

    return Service("deadlines", run)


def _workers(gw: Gateway, settings_file: Path | None) -> Service:
    pool = WorkerPool(
        worker_plans(gw.settings.worker_processes),
        settings_file,
        gw.writer.committed,
        gw.settings.worker_niceness,
        on_exit=lambda: asyncio.to_thread(gw.release_dead_owners),
    )
    # Stopped after SMTP and IMAP: the workers drain what was committed, then exit.
    return Service("workers", pool.run, Stage.PROCESS, on_reload=lambda: pool.signal_all(signal.SIGHUP))


def _lifeline(gw: Gateway, request_stop: Callable[[], None], wake: asyncio.Event) -> Service:
    """In a worker: the parent's pipe wakes intake; its end (the parent gone) stops this process."""

    async def run(stopping: asyncio.Event) -> None:
        parent_gone = asyncio.Event()
        watch = asyncio.create_task(lifeline(wake, parent_gone))
        await wait_any((parent_gone, stopping), None)
        if parent_gone.is_set():
            request_stop()
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch

    return Service("lifeline", run)
