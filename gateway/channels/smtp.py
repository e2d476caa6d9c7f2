"""The SMTP channel: aiosmtpd in the daemon's own loop; 250 only once the receipt is committed."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any

import structlog
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax

from gateway.channels.smtp_data import DataReader
from gateway.channels.smtp_limits import ConnectionCount, DataBudget, SmtpLimits
from gateway.errors import StorageError
from gateway.intake.ports import Receiver
from gateway.model import Channel, NewReceipt

log = structlog.get_logger(__name__)

MAX_RECIPIENTS = 100


class GatewaySMTP(SMTP):
    """aiosmtpd's server, reading DATA in blocks, with room for the long lines real mail has.

    RFC 5321 allows 1,000 octets a line, but mail from real clients carries longer ones (HTML without
    breaks, long encoded headers) and refusing it loses feedback (FINDINGS.md). DATA lines may be as long
    as the size limit allows; a command line may have one MiB, which is also the most one read of the
    stream buffers.
    """

    line_length_limit = 1024 * 1024

    def __init__(
        self,
        *args: Any,
        limits: SmtpLimits,
        connections: ConnectionCount,
        budget: DataBudget,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            *args, timeout=limits.idle_seconds, command_call_limit=limits.command_call_limit(), **kwargs
        )
        if self._decode_data:
            raise ValueError("GatewaySMTP keeps the raw bytes: decode_data must be False")
        self._limits = limits
        self._connections = connections
        self._budget = budget
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self._deadline is None:  # not again after STARTTLS: the session goes on
            self._deadline = self.loop.call_later(self._limits.session_seconds, self._session_over)

    def connection_lost(self, error: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(error)

    def _session_over(self) -> None:
        """aiosmtpd's idle timer restarts on every command, so NOOPs would keep a session for ever."""
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            log.info("SMTP session over its time limit", peer=_peer(self.session))
            transport.write(b"421 4.4.2 Session time limit reached, closing connection\r\n")
            transport.close()

    async def _handle_client(self) -> None:
        """Admit the session against the connection caps before aiosmtpd greets it (RFC 5321 §3.1:
        a server may answer 421 instead of 220)."""
        client = _peer(self.session)
        refusal = self._connections.admit(client)
        if refusal is not None:
            log.info("SMTP connection refused", peer=client, reason=refusal)
            await self.push(refusal)
            assert self.transport is not None
            self.transport.close()
            return
        try:
            await super()._handle_client()
        finally:
            self._connections.release(client)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd 1.4.6's address parsing for MAIL and RCPT, without the typing `Protocol` class it
        defines on every call: creating that class was 8% of the accepting process's time."""
        if not arg:
            return "", ""
        try:
            address, rest = get_angle_addr(arg) if arg.lstrip().startswith("<") else get_addr_spec(arg)
        except HeaderParseError:
            return None, None
        addr: str = address.addr_spec
        if self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return addr, rest

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd 1.4.6's DATA command with `DataReader` in place of its line-by-line loop (decision
        0013); the checks before and the hook call after are aiosmtpd's own."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        reader = DataReader(self._reader, self.data_size_limit, self._budget)
        try:
            try:
                content = await reader.read()
            except asyncio.IncompleteReadError as exc:  # on EOF aiosmtpd cancels this first; just in case
                raise ConnectionResetError("connection closed during DATA") from exc
            if content is None:
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                if reader.no_room:
                    log.warning("DATA refused: too much mail in memory", peer=_peer(self.session))
                    await self.push("452 4.3.1 Insufficient system storage, please try again later")
                else:
                    await self.push("552 Error: Too much mail data")
                return
            self.envelope.content = self.envelope.original_content = content
            status = await self._call_handler_hook("DATA")
            reader.give_back()  # committed (or refused): free before the sender hears, and may send again
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push("250 OK" if status is MISSING else status)
        finally:
            reader.give_back()  # whatever happened (a refusal, a lost connection), its bytes are free


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
            log.info("recipient refused", rcpt_to=address, peer=_peer(session))
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
                    peer=_peer(session),
                )
            )
        except StorageError as exc:
            log.error("receipt not stored; sender told to retry", error=str(exc), peer=_peer(session))
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


def _peer(session: Session | None) -> str:
    peer: Any = session.peer if session is not None else None
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


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
