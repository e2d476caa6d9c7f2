"""Reading SMTP DATA in blocks instead of line by line (docs/decisions/0013-smtp-data-in-blocks.md).

aiosmtpd 1.4 reads DATA one line at a time, with a coroutine round trip, a debug log call and a list
append for every line: half of the accepting process's CPU went there (aiosmtpd issue #293 names the
same loop). This reader asks the stream for everything up to the next line that starts with a dot,
which in nearly every message is the terminating one, so a message costs a handful of awaits.

It stops exactly after the terminating `<CRLF>.<CRLF>` and never reads past it, so a pipelining
client's next command stays in the stream for aiosmtpd's command loop.
"""

from __future__ import annotations

import asyncio
import enum

from gateway.channels.smtp_limits import DataBudget

_DOT_LINE = b"\r\n."


class _At(enum.Enum):
    """Where the stream stands after what has been read (the separator's first bytes matter)."""

    LINE_START = enum.auto()  # after CRLF (or at the start of DATA): a dot here ends or is stuffing
    AFTER_CR = enum.auto()  # after a CR that may begin the CRLF before a dot line
    MID_LINE = enum.auto()  # anything else


def _after(chunk: bytes) -> _At:
    if chunk.endswith(b"\r\n"):
        return _At.LINE_START
    if chunk.endswith(b"\r"):
        return _At.AFTER_CR
    return _At.MID_LINE


class DataReader:
    """Reads one DATA section: RFC 5321 §4.5.2 de-stuffed content, or None when it exceeds *limit*.

    Beyond the limit the rest is read and dropped, so that the reply (552) comes after the client's
    terminator, as RFC 5321 §4.2.5 implies and aiosmtpd does. Lines of any length are accepted up to
    the size limit: the stream's own buffer limit only bounds each read, not the line.

    With a *budget*, every byte kept is taken from it first; when the budget (shared by all sessions) is
    spent, what was kept is given back and the rest drained, and `no_room` says so (the caller answers
    452, a temporary refusal). What is kept stays taken until the caller calls `give_back()`.
    """

    def __init__(
        self, reader: asyncio.StreamReader, limit: int | None, budget: DataBudget | None = None
    ) -> None:
        self._reader = reader
        self._limit = limit
        self._budget = budget
        self._parts: list[bytes] = []
        self._size = 0
        self._held = 0
        self._too_much = False
        self.no_room = False

    async def read(self) -> bytes | None:
        at: _At | None = _At.LINE_START
        while at is not None:
            if at is _At.MID_LINE:
                chunk, dot = await self._until_dot_line()
                if dot:  # the next line's dot is consumed: that line is the end, or stuffed
                    self._keep(chunk[:-1])
                    at = await self._after_dot()
                else:
                    self._keep(chunk)
                    at = _after(chunk)
            else:
                byte = await self._reader.readexactly(1)
                if at is _At.LINE_START and byte == b".":
                    at = await self._after_dot()
                else:
                    self._keep(byte)
                    at = _after(b"\r" + byte if at is _At.AFTER_CR else byte)
        if self._too_much or self.no_room:
            return None
        content, self._parts = b"".join(self._parts), []  # not twice in memory past this point
        return content

    def give_back(self) -> None:
        """Return what this DATA holds to the shared budget (after its receipt is committed)."""
        if self._budget is not None:
            self._budget.give(self._held)
        self._held = 0

    async def _until_dot_line(self) -> tuple[bytes, bool]:
        """Up to and including the next CRLF-dot (True), or as much as the stream's limit lets through
        without one (False)."""
        try:
            return await self._reader.readuntil(_DOT_LINE), True
        except asyncio.LimitOverrunError as exc:
            # No dot line within the stream's limit: take what certainly holds no separator's start.
            return await self._reader.readexactly(max(exc.consumed, 1)), False

    async def _after_dot(self) -> _At | None:
        """After a line's leading dot: None at the terminating `.<CRLF>`, else where the stream stands
        (the dot was stuffing: dropped, but counted as the client sent it)."""
        byte = await self._reader.readexactly(1)
        if byte == b"\r":
            following = await self._reader.readexactly(1)
            if following == b"\n":
                return None
            byte += following
        self._size += 1
        self._keep(byte)
        return _after(byte)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._too_much or self.no_room:
            return
        if self._limit and self._size > self._limit:
            self._too_much = True
            self._drop()  # drop what was read at once: nothing of it will be stored
            return
        if self._budget is not None:
            if not self._budget.take(len(data)):
                self.no_room = True
                self._drop()
                return
            self._held += len(data)
        self._parts.append(data)

    def _drop(self) -> None:
        self._parts.clear()
        self.give_back()
