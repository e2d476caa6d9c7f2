"""One process of the gateway: runs its services in one TaskGroup until SIGTERM/SIGINT, stops them stage
by stage (gateway/runtime/services.py), and hands SIGHUP to the services that reload. It builds nothing:
`gateway.runtime.build` does, and `serve` puts the two together."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

import structlog

from gateway.rules.live import LiveConfig
from gateway.runtime.build import Clock, Gateway, open_database
from gateway.runtime.services import ALL_LOOPS, Role, Service, Stage, services_for

__all__ = ["ALL_LOOPS", "Daemon", "Role", "serve"]
from gateway.settings import Settings
from gateway.store import migrate

log = structlog.get_logger(__name__)


class Daemon:
    """Runs *services*; `stopping` asks it to stop (the signal handlers set it), `ready` says it runs."""

    def __init__(
        self,
        gateway: Gateway,
        role: Role = "all",
        services: Sequence[Service] | None = None,
        *,
        loops: frozenset[str] = ALL_LOOPS,
        settings_file: Path | None = None,
        web_socket: socket.socket | None = None,
    ) -> None:
        self.gateway = gateway
        self.role = role
        self.stopping = asyncio.Event()
        self.ready = asyncio.Event()  # set once every service started (SMTP listens)
        if services is None:  # the role's own (a worker's lifeline asks this daemon to stop)
            services = services_for(gateway, role, loops, settings_file, self.stopping.set, web_socket)
        self.services = list(services)

    async def run(self, install_signals: bool = True) -> int:
        """Serve until `stopping` is set (SIGTERM, SIGINT); return the exit status."""
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._request_stop, sig)
            loop.add_signal_handler(signal.SIGHUP, self._reload)
        # Before any claim: the leases of this node's dead processes are taken over at once (issue 13).
        await asyncio.to_thread(self.gateway.release_dead_owners)
        stages = {stage: asyncio.Event() for stage in Stage}
        stages[Stage.ACCEPT] = self.stopping  # the first stage stops when asked
        try:
            for service in self.services:
                if service.start is not None:
                    await service.start()
            self.ready.set()
            gw = self.gateway
            smtp_port = gw.smtp.port if any(s.name == "smtp" for s in self.services) else None
            log.info(
                "gateway running", role=self.role, owner=gw.owner, database=gw.db.dialect, smtp_port=smtp_port
            )
            async with asyncio.TaskGroup() as tasks:
                running: dict[Stage, list[asyncio.Task[None]]] = {
                    stage: [
                        tasks.create_task(s.run(stages[stage]), name=s.name)
                        for s in self.services
                        if s.stage is stage
                    ]
                    for stage in Stage
                }
                tasks.create_task(self._stop_in_stages(running, stages), name="shutdown")
        finally:
            if install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    loop.remove_signal_handler(sig)
        log.info("gateway stopped")
        return 0

    async def _stop_in_stages(
        self, running: dict[Stage, list[asyncio.Task[None]]], stages: dict[Stage, asyncio.Event]
    ) -> None:
        """Once asked to stop: each stage is told to stop when every service of the one before returned."""
        await self.stopping.wait()
        for stage in Stage:
            stages[stage].set()
            if running[stage]:
                await asyncio.wait(running[stage])

    def _request_stop(self, sig: signal.Signals) -> None:
        log.info("stop requested", signal=sig.name)
        self.stopping.set()

    def _reload(self) -> None:
        log.info("reload requested", signal="SIGHUP")
        for service in self.services:
            if service.on_reload is not None:
                service.on_reload()


async def serve(
    settings: Settings,
    live: LiveConfig,
    role: Role = "all",
    settings_file: Path | None = None,
    loops: frozenset[str] = ALL_LOOPS,
    clock: Clock | None = None,
    http_fd: int | None = None,
) -> int:
    """Open the database (migrating it when this process accepts mail), run until asked to stop. A web
    process answers on *http_fd*, the listening socket its parent bound."""
    if role == "all" and (settings.worker_processes > 0 or settings.web_process_count > 0):
        role = "accept"
    gateway = Gateway(settings, live, open_database(settings), clock)
    try:
        if settings.auto_migrate and role != "work":
            await asyncio.to_thread(migrate.upgrade, gateway.db)
        web_socket = socket.socket(fileno=http_fd) if http_fd is not None else None
        daemon = Daemon(gateway, role, loops=loops, settings_file=settings_file, web_socket=web_socket)
        freezing = asyncio.create_task(_freeze_when_ready(daemon.ready))
        try:
            return await daemon.run()
        finally:
            freezing.cancel()
    finally:
        gateway.db.dispose()


async def _freeze_when_ready(ready: asyncio.Event) -> None:
    """Once the process has started, leave what it holds for good (modules, the app, the configuration)
    out of the garbage collector's full passes (`gc.freeze`): a full pass over them stopped the process
    for 40–90 ms on the benchmark's host, the 99th percentile of the web pages and of SMTP answers
    (decision 0030). Only in a daemon's own process: a test's in-process daemon leaves the test's
    collector alone."""
    await ready.wait()
    gc.collect()  # what starting left behind goes first, so that no garbage is kept for good
    gc.freeze()
