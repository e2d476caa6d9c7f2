"""Parsing receipts for intake, in processes of their own beside it, so that intake settles one chunk while
the next is parsed on the other core (docs/decisions/0011-parser-processes.md)."""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from gateway.mail import parse
from gateway.mail.body import DEFAULT_LIMITS, ParseLimits
from gateway.model import Channel, InboundMessage
from gateway.store.receipts import Receipt
from gateway.submission.document import to_message

# Receipts whose raw bytes are a submission document, not a mail (issue 17): read by `to_message`.
SUBMISSION_CHANNELS = frozenset({Channel.WEB, Channel.OPEN311, Channel.PHONE, Channel.WALK_IN})

log = structlog.get_logger(__name__)

# What a parser gets of a receipt, and gives back: the message, or the traceback that parks the receipt.
Envelope = tuple[bytes, tuple[str, ...], str | None, str]  # raw, rcpt_tos, mail_from, channel
Parsed = InboundMessage | str
ParseFunction = Callable[..., InboundMessage]


def parse_one(
    function: ParseFunction | None, envelope: Envelope, code_prefix: str, limits: ParseLimits = DEFAULT_LIMITS
) -> Parsed:
    """Parse one receipt's message with *function* (None: `gateway.mail.parse`, or for a submission
    made outside mail `gateway.submission.document.to_message`)."""
    raw, rcpt_tos, mail_from, channel = envelope
    try:
        if function is None and channel in SUBMISSION_CHANNELS:
            return to_message(raw)
        return (function or parse)(
            raw, envelope_rcpts=rcpt_tos, mail_from=mail_from, code_prefix=code_prefix, limits=limits
        )
    except Exception:  # a bug in the parser must park one message, not stop intake
        return traceback.format_exc(limit=8)


def parse_chunk(
    function: ParseFunction | None, envelopes: list[Envelope], code_prefix: str, limits: ParseLimits
) -> list[Parsed]:
    """Run in a parser process: every message of a chunk, in order."""
    return [parse_one(function, envelope, code_prefix, limits) for envelope in envelopes]


def _warm_up() -> None:
    """A parser process's start: Ctrl-C in a terminal reaches the whole process group, but the parsers
    are stopped by the worker that started them, after its drain; and the language models are loaded
    before the first chunk, not during it. (They run as nice as that worker: children inherit it.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parse(b"From: a@example.org\r\nSubject: x\r\n\r\nTervetuloa kaupunkiin, kiitos palautteesta.\r\n")


class ParserPool:
    """Parses a round's receipts in chunks: in *processes* other processes, or inline when 0.

    Chunks come back in order as they are done, so the caller settles the first while the others are
    still being parsed. If a parser process dies (the kernel's OOM killer, a crash in native code), the
    round's remaining chunks are parsed inline and a new pool is started for the next round.
    """

    def __init__(
        self,
        processes: int,
        code_prefix: str,
        chunk: int = 4,
        function: ParseFunction | None = None,
        limits: ParseLimits = DEFAULT_LIMITS,
    ) -> None:
        self._processes = processes
        self._prefix = code_prefix
        self._limits = limits
        self._chunk = max(1, chunk)
        self._function = function
        self._pool: ProcessPoolExecutor | None = None

    @property
    def parallel(self) -> bool:
        """Whether parsing happens in other processes (else in the caller's thread)."""
        return self._processes > 0

    def start(self) -> None:
        """Start the parser processes now, not at the first round: starting one (spawn, imports, the
        language models) takes a CPU second that the first mails should not wait for."""
        pool = self._ensure_pool()
        if pool is not None:
            pool.submit(_warm_up)  # a process pool starts its processes when work comes

    def parse(self, receipts: Sequence[Receipt]) -> ParsedStream:
        """Start parsing *receipts*; what comes back is taken from the stream, in order."""
        pool = self._ensure_pool()
        parts = [list(receipts[i : i + self._chunk]) for i in range(0, len(receipts), self._chunk)]
        if pool is None or not parts:  # inline, all at once: nothing to overlap
            return ParsedStream(self, [list(receipts)] if receipts else [], None)
        try:
            futures = [
                pool.submit(
                    parse_chunk, self._function, [_envelope(r) for r in part], self._prefix, self._limits
                )
                for part in parts
            ]
        except BrokenProcessPool:
            self.broken()
            return ParsedStream(self, parts, None)
        return ParsedStream(self, parts, futures)

    def parse_inline(self, part: list[Receipt]) -> list[tuple[Receipt, Parsed]]:
        """Parse *part* in the caller's thread."""
        return [(r, parse_one(self._function, _envelope(r), self._prefix, self._limits)) for r in part]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def pids(self) -> list[int]:
        """The parser processes running now (for tests and operators)."""
        pool = self._pool
        return [] if pool is None else [p.pid for p in pool._processes.values() if p.pid is not None]

    def _ensure_pool(self) -> ProcessPoolExecutor | None:
        if self._processes <= 0:
            return None
        if self._pool is None:
            # spawn: the worker runs threads (asyncio.to_thread), and forking a threaded process is unsafe.
            self._pool = ProcessPoolExecutor(
                self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_up,
            )
            log.info("parser processes started", processes=self._processes)
        return self._pool

    def broken(self) -> None:
        """A parser process died: drop the pool; the next round starts a new one."""
        log.warning("a parser process died; parsing this round here and starting new ones")
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _envelope(receipt: Receipt) -> Envelope:
    return receipt.raw, receipt.rcpt_tos, receipt.mail_from, str(receipt.channel)


class ParsedStream:
    """One round's receipts with what parsing made of them, taken in order: `wait` for the next chunk, or
    `ready` for the chunks already parsed (so that a writer never holds a transaction open waiting)."""

    def __init__(
        self, pool: ParserPool, parts: list[list[Receipt]], futures: list[Future[list[Parsed]]] | None
    ) -> None:
        self._pool = pool
        self._parts = parts
        self._futures = futures
        self._next = 0

    def wait(self) -> list[tuple[Receipt, Parsed]]:
        """The next chunk, parsed; [] when the round is through."""
        if self._next == len(self._parts):
            return []
        part = self._parts[self._next]
        parsed: list[Parsed] | None = None
        if self._futures is not None:
            try:
                parsed = self._futures[self._next].result()
            except BrokenProcessPool:
                self._pool.broken()
                self._futures = None
            except Exception as exc:  # cancelled (the pool was shut down), or a result that did not pickle
                log.warning("a chunk came back from no parser; parsing it here", error=repr(exc))
        self._next += 1
        if parsed is None:
            return self._pool.parse_inline(part)
        return list(zip(part, parsed, strict=True))

    def ready(self) -> list[tuple[Receipt, Parsed]]:
        """The chunks parsed by now, without waiting for any other."""
        taken: list[tuple[Receipt, Parsed]] = []
        while (
            self._futures is not None and self._next < len(self._parts) and self._futures[self._next].done()
        ):
            taken.extend(self.wait())
        return taken
