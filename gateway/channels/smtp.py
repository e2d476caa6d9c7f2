"""The SMTP channel: aiosmtpd in the daemon's own loop; 250 only once the receipt is committed."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.channels.aiosmtpd_overrides import GatewaySMTP, peer_of
from gateway.channels.smtp_limits import ConnectionCount, DataBudget, SmtpLimits
from gateway.errors import StorageError
from gateway.intake.ports import Receiver
from gateway.model import Channel, NewReceipt

log = structlog.get_logger(__name__)

MAX_RECIPIENTS = 100


class SmtpHandler:
    """The aiosmtpd hooks: cheap checks at RCPT, the durable commit at DATA, one funnel for exceptions."""

    def __init__(self, receiver: Receiver, is_city_address: Callable[[str], bool]) -> None:
        self._receiver = receiver
        self._is_city_address = is_city_address
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        # Route on the envelope, never on the To header (Bcc, forwarding); we are never an open relay.
        if not self._is_city_address(address):
            log.info("recipient refused", rcpt_to=address, peer=peer_of(session))
            return f"550 5.1.1 <{address}>: no such feedback address here"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if not isinstance(raw, bytes | bytearray):  # pragma: no cover - we run with decode_data=False
            return "451 4.3.0 Internal error, please try again later"
        self.in_flight += 1
        self.idle.clear()
        try:
            receipt_id = await self._receiver.receive(
                NewReceipt(
                    channel=Channel.SMTP,
                    raw=bytes(raw),
                    mail_from=reverse_path(envelope.mail_from),
                    rcpt_tos=tuple(a.lower() for a in envelope.rcpt_tos),
                    peer=peer_of(session),
                )
            )
        except StorageError as exc:
            log.error("receipt not stored; sender told to retry", error=str(exc), peer=peer_of(session))
            return "451 4.3.0 Temporary storage failure, please try again later"
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()
        log.debug("receipt stored", receipt=receipt_id, size=len(raw))
        return f"250 2.0.0 OK: queued as {receipt_id}"

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd would answer "500 Error: (ExcType) message": a leak, and a permanent failure for the
        # sender. Whatever went wrong on our side, the sender should try again.
        log.error("SMTP session error", error=f"{type(error).__name__}: {error}")
        return "451 4.3.0 Internal error, please try again later"


def reverse_path(mail_from: str | None) -> str:
    """The envelope sender, "" for the null reverse-path: aiosmtpd records `MAIL FROM:<>` as "<>"."""
    address = (mail_from or "").strip()
    return "" if address in ("", "<>") else address


class SmtpServer:
    """Owns the listening socket and the sessions, so that shutdown can stop accepting and then drain."""

    def __init__(
        self,
        handler: SmtpHandler,
        host: str,
        port: int,
        hostname: str,
        max_message_size: int,
        limits: SmtpLimits | None = None,
    ) -> None:
        self._handler = handler
        self._host, self._port = host, port
        self._hostname = hostname
        self._max_size = max_message_size
        self._limits = limits or SmtpLimits()
        self.connections = ConnectionCount(self._limits)
        self.budget = DataBudget(max(self._limits.data_in_flight_bytes, max_message_size))
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()  # closed sessions drop out

    def _factory(self) -> SMTP:
        smtp = GatewaySMTP(
            self._handler,
            hostname=self._hostname,  # without it every connection calls getfqdn() and blocks the loop
            ident="city feedback gateway",
            data_size_limit=self._max_size,
            decode_data=False,
            enable_SMTPUTF8=True,
            limits=self._limits,
            connections=self.connections,
            budget=self.budget,
        )
        self._sessions.add(smtp)
        return smtp

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._factory, self._host, self._port)
        log.info("SMTP listening", host=self._host, port=self.port)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let every DATA in hand finish its commit and answer, then close the sessions."""
        if self._server is None:
            return
        self._server.close()
        try:
            await asyncio.wait_for(self._handler.idle.wait(), grace)
        except TimeoutError:
            log.warning(
                "shutdown: messages still in hand after grace period", in_flight=self._handler.in_flight
            )
        for smtp in list(self._sessions):
            if smtp.transport is not None and not smtp.transport.is_closing():
                smtp.transport.close()
        self._sessions.clear()
        await self._server.wait_closed()
        log.info("SMTP stopped")
