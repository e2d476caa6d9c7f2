"""The composition root: the one place that builds the gateway's parts from the settings and the
configuration in force, for the daemon and for the commands alike. Nothing imports it but `gateway.cli`
and `gateway.runtime` itself (the import contract in pyproject.toml checks it): the pipeline never knows
what built it.

Each part is built on first use and once (`cached_property`): `gateway case reroute` needs only a planner
and gets no SMTP server; the daemon gets everything, with one `Templates` and one `Planner` shared by
intake, staff answers and deadline notices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cached_property

import structlog
from sqlalchemy import Connection

from gateway.casework.answers import StaffDesk
from gateway.casework.console import ConsoleDesk
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
from gateway.model import Case, Channel, Decision, InboundMessage
from gateway.notifier.compose import Identity
from gateway.notifier.deadline_mail import DeadlineMail
from gateway.notifier.outbound import Outbound
from gateway.notifier.plan import ROLE_ADDRESS_RULE, Planner
from gateway.notifier.reply_address import derive_key
from gateway.notifier.templates import Templates
from gateway.rules import CaseFields, route, route_to
from gateway.rules.live import LiveConfig, read_config
from gateway.settings import Settings
from gateway.settings.reply_secret import check_reply_secret
from gateway.store import outbox
from gateway.store.db import Database, make_engine
from gateway.store.leases import process_owner, release_dead_owners
from gateway.web.app import build_app
from gateway.web.context import WebContext
from gateway.web.limits import RateLimiter
from gateway.web.server import HttpServer

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def load_live(settings: Settings) -> LiveConfig:
    """The configuration files read and checked (raises ConfigError listing every problem)."""
    return LiveConfig(settings, read_config(settings))


def open_database(settings: Settings) -> Database:
    return Database(make_engine(settings.database_url))


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


def make_handlers(live: LiveConfig) -> Callable[[Connection, Case], frozenset[str]]:
    """Who may answer a case: its department's addresses and whoever got its latest hand-over (a
    contact may have left the configuration since). After a reroute, the old department no longer may."""

    def handlers(conn: Connection, case: Case) -> frozenset[str]:
        configured = live.handler_addresses(case.department) if case.department else frozenset()
        latest = outbox.latest_recipient(conn, case.id, ("forward",))
        return configured | ({latest} if latest else frozenset())

    return handlers


def make_router(live: LiveConfig, role_department: str = "") -> Router:
    def router(msg: InboundMessage, channel: Channel, rcpt_tos: tuple[str, ...], now: datetime) -> Decision:
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


class Gateway:
    """The parts of one gateway process, built on first use from *settings*, *live* and *db*."""

    def __init__(
        self, settings: Settings, live: LiveConfig, db: Database, clock: Clock | None = None
    ) -> None:
        check_reply_secret(settings.reply_secret)  # issue 15: never sign with a published or short key
        self.settings = settings
        self.live = live
        self.db = db
        self.clock: Clock = clock or app_clock(settings.fast_clock)
        # Unique per process (pid and start time): a restarted process must not mistake a dead one's
        # leases for its own, but can tell that their holder is gone (issue 13, `release_dead_owners`).
        self.owner = process_owner(settings.node_name)

    def release_dead_owners(self) -> None:
        """Take over the leases of this node's dead processes (a crash, a killed worker that the parent
        restarts) at once instead of after 60 s or 5 min (issue 13)."""
        try:
            with self.db.write(durable=False) as conn:  # a release lost in a power cut: leases expire
                released = release_dead_owners(conn, self.settings.node_name)
        except StorageError as exc:  # no worse than before issue 13: the leases expire
            log.error("could not take over the leases of dead processes", error=str(exc))
            return
        if released:
            log.info("took over the leases of dead processes", owner=self.owner, released=released)

    @cached_property
    def templates(self) -> Templates:
        return Templates(self.settings.templates_dir)

    @cached_property
    def outbound(self) -> Outbound:
        """The one path every mail takes: its guard (rate limits, unreachable addresses) and the outbox."""
        s = self.settings
        return Outbound(
            self.templates,
            identity_for(s, self.live),
            self.live,
            notices_per_recipient_per_hour=s.notices_per_recipient_per_hour,
            notices_per_case_per_hour=s.notices_per_case_per_hour,
            relays_per_case_per_hour=s.relays_per_case_per_hour,
            unreachable_for=timedelta(days=s.unreachable_days),
        )

    @cached_property
    def planner(self) -> Planner:
        s = self.settings
        return Planner(
            self.outbound,
            self.live,
            staff_language=s.staff_language,
            new_cases_per_sender_per_hour=s.new_cases_per_sender_per_hour,
            new_cases_per_client_per_hour=s.new_cases_per_client_per_hour,
            trusted_authserv_id=s.trusted_authserv_id,
            web_url=s.web_url if s.http_enabled or s.public_url else "",
        )

    @cached_property
    def staff(self) -> StaffDesk:
        return StaffDesk(self.live, self.planner)

    @cached_property
    def console(self) -> ConsoleDesk:
        """What staff do to a case from the web console (issue 18)."""
        return ConsoleDesk(self.db, self.live, self.planner, self.staff)

    @cached_property
    def classifier(self) -> Classifier:
        s, live = self.settings, self.live
        return Classifier(
            s.reply_secret,
            s.code_prefix,
            make_handlers(live),
            lambda case: live.staff_domains(s.staff_domains),
            s.trusted_authserv_id,
        )

    @cached_property
    def intake(self) -> Intake:
        s, live = self.settings, self.live
        return Intake(
            self.db,
            self.planner,
            self.classifier,
            self.staff,
            make_router(live, s.role_department),
            self.clock,
            self.owner,
            lambda: live.current,
            s.code_prefix,
            lease=timedelta(seconds=s.intake_lease_seconds),
            commit_after=timedelta(milliseconds=s.intake_commit_ms),
            parsers=ParserPool(s.intake_parsers, s.code_prefix, limits=s.parse_limits),
        )

    @cached_property
    def outbox(self) -> OutboxWorker:
        s = self.settings
        return OutboxWorker(
            self.db,
            make_transports(s, self.live),
            self.clock,
            self.owner,
            max_attempts=s.outbox_max_attempts,
            lease=timedelta(seconds=s.outbox_lease_seconds),
        )

    @cached_property
    def deadline_mail(self) -> DeadlineMail:
        return DeadlineMail(
            self.outbound, self.live, self.planner.reply_address, self.settings.staff_language
        )

    @cached_property
    def deadlines(self) -> DeadlineWorker:
        # Issue 5: reminders, interim notices and alarms, each fired once whatever the number of nodes.
        # The lease is on the database's clock; it is held as long as a receipt's (docs/decisions/0006).
        # Its mail goes through the planner's outbound path, whose guard reads `unreachable_days`.
        return DeadlineWorker(
            self.db,
            self.deadline_mail,
            self.live,
            self.clock,
            self.owner,
            lease=timedelta(seconds=self.settings.intake_lease_seconds),
            max_attempts=self.settings.deadline_max_attempts,
        )

    @cached_property
    def writer(self) -> ReceiptWriter:
        return ReceiptWriter(self.db, self.clock)

    @cached_property
    def smtp(self) -> SmtpServer:
        s = self.settings
        return SmtpServer(
            SmtpHandler(self.writer, self.live.accepts),
            s.smtp_host,
            s.smtp_port,
            s.smtp_hostname,
            s.max_message_size,
            smtp_limits(s),
        )

    @cached_property
    def imap(self) -> list[ImapReader]:
        # One thread and connection per mailbox; a commit wakes intake through the writer's event.
        desk = MailboxDesk(self.db, self.clock, self.writer.committed_elsewhere)
        return [ImapReader(m, desk, self.owner) for m in self.settings.mailboxes]

    @cached_property
    def web(self) -> WebContext:
        s, live = self.settings, self.live
        return WebContext(
            receiver=self.writer,
            db=self.db,
            config=lambda: live.current,
            settings=s,
            clock=self.clock,
            form_key=derive_key(s.reply_secret, "web-form"),
            posts=RateLimiter(s.web_posts_per_client_per_minute, s.web_posts_per_minute),
            lookups=RateLimiter(s.track_lookups_per_client_per_minute, 0),
            console=self.console,
        )

    @cached_property
    def http(self) -> HttpServer:
        s = self.settings
        return HttpServer(build_app(self.web), s.http_host, s.http_port, s.trusted_proxies)
