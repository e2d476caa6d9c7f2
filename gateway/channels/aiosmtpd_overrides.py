"""Everything the SMTP channel changes inside aiosmtpd, in one place: written against aiosmtpd 1.4.6.

aiosmtpd is pinned (`aiosmtpd==1.4.6` in setup.cfg) because `GatewaySMTP` replaces members of
`aiosmtpd.smtp.SMTP`, most of them private. An override of a member that a new version renamed is
simply never called, and nothing fails: `tests/channels/test_aiosmtpd_overrides.py` checks the version,
the signature of every member replaced or called here, and the behaviour of each override through a
running daemon. Before raising the pin, re-read each of these against the new aiosmtpd source.

The overrides, the aiosmtpd member each replaces, and why:

- `line_length_limit` (class attribute, 1001 in aiosmtpd): 1 MiB. aiosmtpd's `__init__` builds the
  session's `StreamReader` with it, so it bounds a command line and each read of DATA. Real mail has
  lines far over RFC 5321's 1,000 octets, and each read of 1,001 octets cost a loop turn (decision 0013).
- `__init__` (`SMTP.__init__`): passes the idle `timeout` and the per-session `command_call_limit` of
  `SmtpLimits` (issue 15), keeps the connection counter and the DATA memory budget, and refuses
  `decode_data=True`: the receipt stores the raw bytes as they came, and `smtp_DATA` below never decodes.
- `connection_made` / `connection_lost` (`SMTP.connection_made`, `SMTP.connection_lost`): start and
  cancel a session deadline. aiosmtpd's idle timer restarts on every command, so a client sending NOOPs
  would hold its session for ever; at the deadline `_session_over` answers `421 4.4.2` and closes.
- `_handle_client` (`SMTP._handle_client`, the per-connection task that sends the 220 greeting and reads
  commands): admits the session against the connection caps first, and answers the `421 4.7.0` refusal
  instead of the greeting (RFC 5321 §3.1); the caps are released when aiosmtpd's loop ends.
- `_getaddr` (`SMTP._getaddr`, the address parsing of MAIL and RCPT): the same parsing without the
  `typing.Protocol` class aiosmtpd 1.4.6 defines on every call only for an annotation (8% of the
  accepting process's CPU, decision 0013). It must answer exactly as aiosmtpd's does.
- `smtp_DATA` (`SMTP.smtp_DATA`): aiosmtpd's checks before (HELO, AUTH, RCPT, no argument, 354) and its
  hook call and reply after, with the content read by `smtp_data.DataReader` in blocks instead of
  aiosmtpd's line-by-line loop (half of the accepting process's CPU, decision 0013). Answers `552` over
  the size limit as aiosmtpd does, and `452 4.3.1` when the DATA memory budget shared by all sessions is
  spent (issue 15).

aiosmtpd internals the overrides call, and so also rely on: `_reader`, `_decode_data`, `local_part_limit`,
`_call_handler_hook`, `_set_post_data_state`, `check_helo_needed`, `check_auth_needed`, `push`,
`MISSING` and the `syntax` decorator (aiosmtpd's HELP reads what it records).
"""

from __future__ import annotations

import asyncio
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any

import structlog
from aiosmtpd.smtp import MISSING, SMTP, Session, syntax

from gateway.channels.smtp_data import DataReader
from gateway.channels.smtp_limits import ConnectionCount, DataBudget, SmtpLimits

log = structlog.get_logger(__name__)


def peer_of(session: Session | None) -> str:
    """The client's address of an aiosmtpd session, "" before it has one."""
    peer: Any = session.peer if session is not None else None
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


class GatewaySMTP(SMTP):
    """aiosmtpd's server, reading DATA in blocks, with room for the long lines real mail has.

    RFC 5321 allows 1,000 octets a line, but mail from real clients carries longer ones (HTML without
    breaks, long encoded headers) and refusing it loses feedback (docs/findings.md). DATA lines may be as long
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
            log.info("SMTP session over its time limit", peer=peer_of(self.session))
            transport.write(b"421 4.4.2 Session time limit reached, closing connection\r\n")
            transport.close()

    async def _handle_client(self) -> None:
        """Admit the session against the connection caps before aiosmtpd greets it (RFC 5321 §3.1:
        a server may answer 421 instead of 220)."""
        client = peer_of(self.session)
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
                    log.warning("DATA refused: too much mail in memory", peer=peer_of(self.session))
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
