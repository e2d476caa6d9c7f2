"""The composition root: builds the channels, workers and stores, and runs them in one asyncio process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import structlog
from sqlalchemy import Connection

from gateway.casework.answers import StaffDesk
from gateway.channels.imap import ImapReader
from gateway.channels.smtp import SmtpHandler, SmtpServer
from gateway.channels.smtp_limits import SmtpLimits
from gateway.clock import app_clock
from gateway.deadlines.worker import DeadlineWorker
from gateway.delivery.transports import MaildirTransport, SmtpRelayTransport, Transport
from gateway.delivery.webhook import WebhookTransport
from gateway.delivery.worker import OutboxWorker
from gateway.errors import StorageError
from gateway.intake.classify import Classifier
from gateway.intake.mailbox_desk import MailboxDesk
from gateway.intake.parsers import ParserPool
from gateway.intake.pipeline import Intake, Router
from gateway.intake.receive import ReceiptWriter
from gateway.model import Decision, InboundMessage
from gateway.notifier.compose import Identity
from gateway.notifier.plan import ROLE_ADDRESS_RULE, Planner
from gateway.notifier.templates import Templates
from gateway.rules import CaseFields, route, route_to
from gateway.rules.live import LiveConfig, config_stamp
from gateway.runtime.workers import WorkerPool, lifeline
from gateway.settings import Settings
from gateway.settings.reply_secret import check_reply_secret
from gateway.store import migrate, outbox
from gateway.store.cases import CaseRow
from gateway.store.db import Database, make_engine
from gateway.store.leases import process_owner, release_dead_owners

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def identity_for(settings: Settings, live: LiveConfig) -> Identity:
    address = settings.sender_address or live.current.addresses[0]
    domain = settings.mail_domain or address.rpartition("@")[2]
    return Identity(address=address, name=settings.sender_name, domain=domain, secret=settings.reply_secret)


def smtp_limits(settings: Settings) -> SmtpLimits:
    return SmtpLimits(
        max_connections=settings.smtp_max_connections,
        max_connections_per_client=settings.smtp_max_connections_per_client,
        idle_seconds=settings.smtp_idle_seconds,
        session_seconds=settings.smtp_session_seconds,
        messages_per_session=settings.smtp_messages_per_session,
        data_in_flight_bytes=settings.smtp_data_in_flight_bytes,
    )


def build_planner(settings: Settings, live: LiveConfig) -> Planner:
    return Planner(
        Templates(settings.templates_dir),
        identity_for(settings, live),
        live,
        notices_per_recipient_per_hour=settings.notices_per_recipient_per_hour,
        notices_per_case_per_hour=settings.notices_per_case_per_hour,
        relays_per_case_per_hour=settings.relays_per_case_per_hour,
        unreachable_for=timedelta(days=settings.unreachable_days),
        new_cases_per_sender_per_hour=settings.new_cases_per_sender_per_hour,
        new_cases_per_client_per_hour=settings.new_cases_per_client_per_hour,
        trusted_authserv_id=settings.trusted_authserv_id,
    )


def make_handlers(live: LiveConfig) -> Callable[[Connection, CaseRow], frozenset[str]]:
    """Who may answer a case: its department's addresses and whoever got its latest hand-over (a
    contact may have left the configuration since). After a reroute, the old department no longer may."""

    def handlers(conn: Connection, case: CaseRow) -> frozenset[str]:
        configured = live.handler_addresses(case.department) if case.department else frozenset()
        latest = outbox.latest_recipient(conn, case.id, ("forward",))
        return configured | ({latest} if latest else frozenset())

    return handlers


def make_router(live: LiveConfig, role_department: str = "") -> Router:
    def router(msg: InboundMessage, channel: str, rcpt_tos: tuple[str, ...], now: datetime) -> Decision:
        # `live.current` is read once: a reload in the middle cannot mix two configurations.
        config = live.current
        if rcpt_tos and all(live.is_role_address(a) for a in rcpt_tos):
            # postmaster@, abuse@: for operations, whatever the words say (decision 0025)
            department = role_department if role_department in config.departments else config.default
            reason = f"sent to {', '.join(rcpt_tos)}"
            return dataclasses.replace(
                route_to(config, department, now), rule=ROLE_ADDRESS_RULE, reasons=(reason,)
            )
        return route(config, CaseFields.from_message(msg, channel, rcpt_tos or None), now)

    return router


def make_transports(settings: Settings, live: LiveConfig) -> dict[str, Transport]:
    mail: Transport
    if settings.outbound_host:
        mail = SmtpRelayTransport(
            settings.outbound_host,
            settings.outbound_port,
            starttls=settings.outbound_starttls,
            username=settings.outbound_username,
            password=settings.outbound_password,
            timeout=settings.outbound_timeout,
            local_hostname=settings.smtp_hostname,
            bounce_secret=settings.reply_secret,
        )
    else:
        mail = MaildirTransport(settings.outbox_maildir, bounce_secret=settings.reply_secret)
    return {"mail": mail, "webhook": WebhookTransport(live.webhook_secret)}


Role = Literal["all", "accept", "work"]
ALL_LOOPS = frozenset({"intake", "outbox", "deadlines"})


class Daemon:
    """One process of the gateway. Stops cleanly on SIGTERM/SIGINT, reloads its rules on SIGHUP.

    Its role: "all" does everything in one process; "accept" takes mail in (SMTP, IMAP) and runs the
    worker processes; "work" is such a worker (intake, outbox, deadlines), see gateway/workers.py.
    """

    def __init__(
        self,
        settings: Settings,
        live: LiveConfig,
        db: Database,
        clock: Clock = utc_now,
        role: Role = "all",
        settings_file: Path | None = None,
        loops: frozenset[str] = ALL_LOOPS,
    ) -> None:
        check_reply_secret(settings.reply_secret)  # issue 15: never sign with a published or short key
        self.settings = settings
        self.role = role
        self.accepts = role in ("all", "accept")
        self.loops = loops if role in ("all", "work") else frozenset[str]()
        self.live = live
        self.db = db
        self.clock = clock
        # Unique per process (pid and start time): a restarted process must not mistake a dead one's
        # leases for its own, but can tell that their holder is gone (issue 13, `release_dead_owners`).
        self.owner = process_owner(settings.node_name)
        self.writer = ReceiptWriter(db, clock)
        planner = build_planner(settings, live)
        self.intake = Intake(
            db,
            planner,
            Classifier(
                settings.reply_secret,
                settings.code_prefix,
                make_handlers(live),
                lambda case: live.staff_domains(settings.staff_domains),
                settings.trusted_authserv_id,
            ),
            StaffDesk(live, planner),
            make_router(live, settings.role_department),
            clock,
            self.owner,
            lambda: live.current,
            settings.code_prefix,
            lease=timedelta(seconds=settings.intake_lease_seconds),
            commit_after=timedelta(milliseconds=settings.intake_commit_ms),
            parsers=ParserPool(settings.intake_parsers, settings.code_prefix, limits=settings.parse_limits),
        )
        self.outbox = OutboxWorker(
            db,
            make_transports(settings, live),
            clock,
            self.owner,
            max_attempts=settings.outbox_max_attempts,
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )
        # Issue 5: reminders, interim notices and alarms, each fired once whatever the number of nodes.
        # The lease is on the database's clock; it is held as long as a receipt's (docs/decisions/0006).
        self.deadlines = DeadlineWorker(
            db,
            planner,
            Templates(settings.templates_dir),
            live,
            clock,
            self.owner,
            lease=timedelta(seconds=settings.intake_lease_seconds),
        )
        self.smtp = SmtpServer(
            SmtpHandler(self.writer, live.accepts),
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_hostname,
            settings.max_message_size,
            smtp_limits(settings),
        )
        # Readers commit receipts themselves and wake intake; one thread and connection per mailbox.
        self.imap = [
            ImapReader(m, MailboxDesk(db, clock, self.writer.committed_elsewhere), self.owner)
            for m in settings.mailboxes
        ]
        self._imap_done = asyncio.Event()
        self._workers_stop = asyncio.Event()
        self.stopping = asyncio.Event()
        self.ready = asyncio.Event()  # set once SMTP listens
        self._intake_done = asyncio.Event()  # no new receipts will come
        self._drained = asyncio.Event()  # intake has processed every committed receipt
        self._reload_wanted = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self.pool = (
            WorkerPool(
                settings.worker_processes,
                settings_file,
                self.writer.committed,
                settings.worker_niceness,
                on_exit=lambda: asyncio.to_thread(self._release_dead_owners),
            )
            if role == "accept"
            else None
        )

    async def run(self, install_signals: bool = True) -> int:
        """Serve until `stopping` is set (SIGTERM, SIGINT); return the exit status."""
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._request_stop, sig)
            loop.add_signal_handler(signal.SIGHUP, self._reload)
        # Before any claim: the leases of this node's dead processes (a crash, a killed worker that the
        # parent restarts) are taken over at once instead of after 60 s or 5 min (issue 13).
        await asyncio.to_thread(self._release_dead_owners)
        if self.accepts:
            self.writer.start()
            await self.smtp.start()
        if "intake" in self.loops:
            self.intake.start()
        self.ready.set()
        port = self.smtp.port if self.accepts else None
        log.info(
            "gateway running", role=self.role, owner=self.owner, database=self.db.dialect, smtp_port=port
        )
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._shutdown_when_asked(), name="shutdown")
                tasks.create_task(self._config_loop(), name="config")
                if "intake" in self.loops:
                    tasks.create_task(self._intake_loop(), name="intake")
                elif self.loops:  # another process takes receipts in: nothing here to drain first
                    tasks.create_task(self._nothing_to_drain(), name="no-intake")
                if "outbox" in self.loops:
                    tasks.create_task(self._outbox_loop(), name="outbox")
                if "deadlines" in self.loops:
                    tasks.create_task(self._deadline_loop(), name="deadlines")
                if self.accepts:
                    tasks.create_task(self._imap_readers(), name="imap")
                if self.pool is not None:
                    tasks.create_task(self.pool.run(self._workers_stop), name="workers")
                if self.role == "work":
                    tasks.create_task(lifeline(self.writer.committed, self.stopping), name="lifeline")
        finally:
            if install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    loop.remove_signal_handler(sig)
            await asyncio.to_thread(self.intake.close)
        log.info("gateway stopped")
        return 0

    def _release_dead_owners(self) -> None:
        try:
            with self.db.write(durable=False) as conn:  # a release lost in a power cut: leases expire
                released = release_dead_owners(conn, self.settings.node_name)
        except StorageError as exc:  # no worse than before issue 13: the leases expire
            log.error("could not take over the leases of dead processes", error=str(exc))
            return
        if released:
            log.info("took over the leases of dead processes", owner=self.owner, released=released)

    def _request_stop(self, sig: signal.Signals) -> None:
        log.info("stop requested", signal=sig.name)
        self.stopping.set()

    def _reload(self) -> None:
        log.info("reload requested", signal="SIGHUP")
        self._reload_wanted.set()
        if self.pool is not None:
            self.pool.signal_all(signal.SIGHUP)

    async def _config_loop(self) -> None:
        """Reload the configuration on SIGHUP and when one of its files changes."""
        stamp = await asyncio.to_thread(config_stamp, self.settings)
        every = self.settings.config_poll_seconds or 3600.0
        while not self.stopping.is_set():
            await _wait_any((self._reload_wanted, self.stopping), every)
            if self.stopping.is_set():
                return
            fresh = await asyncio.to_thread(config_stamp, self.settings)
            if self._reload_wanted.is_set() or (self.settings.config_poll_seconds and fresh != stamp):
                self._reload_wanted.clear()
                stamp = fresh
                await self._guarded("config", self._reload_now)

    async def _reload_now(self) -> int:
        return int(await asyncio.to_thread(self.live.reload))

    async def _shutdown_when_asked(self) -> None:
        """Stop accepting, commit what senders are waiting for, then let the workers finish their batch."""
        await self.stopping.wait()
        if self.accepts:
            await self.smtp.stop()
            await self.writer.stop()
            await self._imap_done.wait()  # a reader finishes the message in hand before intake drains
        self._workers_stop.set()  # workers drain what was committed, then exit
        self._intake_done.set()

    async def _imap_readers(self) -> None:
        async with asyncio.TaskGroup() as readers:
            for reader in self.imap:
                readers.create_task(reader.run(self.stopping), name=f"imap-{reader.mailbox.name}")
        self._imap_done.set()

    async def _intake_loop(self) -> None:
        """Work while there is work; on shutdown, drain what was committed before exiting."""
        committed = self.writer.committed
        while True:
            committed.clear()
            count = await self._guarded("intake", self._intake_round)
            if count:
                self._outbox_wake.set()
                continue
            if self._intake_done.is_set():
                self._drained.set()
                return
            await _wait_any((committed, self._intake_done), self.settings.poll_interval)

    async def _nothing_to_drain(self) -> None:
        await self._intake_done.wait()
        self._drained.set()

    async def _intake_round(self) -> int:
        return await self.intake.run_once_async(self.settings.intake_batch)

    async def _outbox_loop(self) -> None:
        # Without intake in this process (a worker of several, gateway/workers.py) nothing here says when
        # intake queued mail: look often, a cheap indexed query, so that receipts go out promptly.
        idle = (
            self.settings.poll_interval if "intake" in self.loops else min(self.settings.poll_interval, 0.1)
        )
        while not self._drained.is_set():
            self._outbox_wake.clear()
            count = await self._guarded("outbox", self.outbox.run_once)
            # Straight on only after a full batch: a batch of a few mails costs the same four fsyncs (claim,
            # files, folder, results) as a full one, and at 200 mails a second the outbox process spent
            # 2 ms of CPU a message mostly in the kernel. A mail waits at most `idle` longer.
            if count < self.outbox.batch:
                await _wait_any((self._outbox_wake, self._drained), idle)
        # Deliver what the last batches owe; a failing relay reschedules its rows, so this ends.
        while await self._guarded("outbox", self.outbox.run_once):
            pass

    async def _deadline_loop(self) -> None:
        """Fire due deadline tasks until asked to stop; what is left, any node fires in its next round."""
        while not self.stopping.is_set():
            if await self._guarded("deadlines", self.deadlines.run_once):
                self._outbox_wake.set()
                continue
            await _wait_any((self.stopping,), self.settings.poll_interval)

    async def _guarded(self, name: str, step: Callable[[], Awaitable[int]]) -> int:
        """Run one step of a worker; a failure is logged and retried after a pause, never fatal."""
        try:
            return await step()
        except Exception:  # the worker-loop catch-all (STYLE.md): the loop must outlive a bad round
            log.exception("worker round failed; retrying", worker=name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), 2.0)
            return 0


async def _wait_any(events: tuple[asyncio.Event, ...], seconds: float) -> None:
    """Return when one of *events* is set, or after *seconds* (work another node committed shows up then)."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def serve(
    settings: Settings,
    live: LiveConfig,
    role: Role = "all",
    settings_file: Path | None = None,
    loops: frozenset[str] = ALL_LOOPS,
) -> int:
    """Open the database (migrating it when this process accepts mail), run until asked to stop."""
    if role == "all" and settings.worker_processes > 0:
        role = "accept"
    db = Database(make_engine(settings.database_url))
    try:
        if settings.auto_migrate and role != "work":
            await asyncio.to_thread(migrate.upgrade, db)
        daemon = Daemon(
            settings,
            live,
            db,
            clock=app_clock(settings.fast_clock),
            role=role,
            settings_file=settings_file,
            loops=loops,
        )
        return await daemon.run()
    finally:
        db.dispose()
