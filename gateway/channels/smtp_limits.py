"""What one SMTP client, and all of them together, may take of the accepting process (issue 15).

Without these a stranger could hold 600 connections open, keep one alive for ever with NOOPs (aiosmtpd
resets its idle timer on every command), and make the process buffer 25 MB of DATA per connection. Each
refusal is temporary (4xx): a real sender retries later, and nothing already accepted is touched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

# The commands a well-behaved client sends a few times a session; everything else (MAIL, RCPT, DATA,
# RSET, one round per message on a reused connection) shares the per-session message budget.
_CHATTER = ("NOOP", "HELO", "EHLO", "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH")


@dataclass(frozen=True, slots=True)
class SmtpLimits:
    """The channel's caps; the defaults suit one city's intake behind its own mail servers."""

    max_connections: int = 200  # open sessions in all
    max_connections_per_client: int = 20  # open sessions from one client address
    idle_seconds: float = 60.0  # silence before a session is closed (aiosmtpd's `timeout`)
    session_seconds: float = 600.0  # the longest a session may last, whatever it sends
    messages_per_session: int = 1000  # MAIL, DATA and RSET a session may send (RCPT: 100 times that)
    chatter_per_session: int = 30  # NOOP, EHLO, VRFY ... a session may send, each
    data_in_flight_bytes: int = 64 * 1024 * 1024  # DATA held in memory over all sessions at once

    def command_call_limit(self) -> dict[str, int]:
        """aiosmtpd's `command_call_limit`: per command and session; beyond it `421 4.7.0` and close."""
        limits = dict.fromkeys(_CHATTER, self.chatter_per_session)
        limits["RCPT"] = self.messages_per_session * 100
        limits["*"] = self.messages_per_session
        return limits


class ConnectionCount:
    """Open sessions, in all and per client address, in the accepting process's one event loop."""

    def __init__(self, limits: SmtpLimits) -> None:
        self._limits = limits
        self._per_client: Counter[str] = Counter()
        self.total = 0

    def admit(self, client: str) -> str | None:
        """Count a new session in, or return why it may not open (the 421 text)."""
        if self.total >= self._limits.max_connections:
            return "421 4.7.0 Too many connections, please try again later"
        if self._per_client[client] >= self._limits.max_connections_per_client:
            return "421 4.7.0 Too many connections from your address, please try again later"
        self.total += 1
        self._per_client[client] += 1
        return None

    def release(self, client: str) -> None:
        self.total -= 1
        self._per_client[client] -= 1
        if self._per_client[client] <= 0:
            del self._per_client[client]


class DataBudget:
    """Bytes of DATA held in memory over all sessions: a reader takes before it keeps, gives back after
    the receipt is committed. When the budget is spent, that DATA is drained and answered `452`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def give(self, size: int) -> None:
        self.held -= size
