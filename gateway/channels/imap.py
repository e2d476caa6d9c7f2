"""The IMAP channel: one thread per mailbox reads new mail, commits it as receipts, then moves it away."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import Any

import structlog
from imapclient import IMAPClient

from gateway.errors import Disconnected, LeaseLost
from gateway.intake.ports import MailboxPort
from gateway.model import Channel, NewReceipt
from gateway.model.receipt import MailboxState
from gateway.settings.mailboxes import MailboxSettings, Tls

log = structlog.get_logger(__name__)

SLICE = 0.5  # seconds a blocking wait lasts before the thread looks at the stop flag again
STOP_GRACE = 5.0  # after this, a reader still blocked in a socket call has its socket shut down
BACKOFF_FIRST = 1.0


class ImapReader:
    """Reads one mailbox while this process holds its lease; stops within seconds of being asked.

    imapclient blocks and is not thread-safe (docs/findings.md), so each reader owns one thread and one
    connection. A message is moved to the processed folder only after its receipt is committed; a crash
    in between leaves it in the folder below the committed mark, and the next round moves it unread.
    """

    def __init__(
        self,
        mailbox: MailboxSettings,
        desk: MailboxPort,
        owner: str,
    ) -> None:
        self.mailbox = mailbox
        self._desk = desk
        self._owner = owner
        self._stop = threading.Event()
        self._client: Any = None
        self._renew_at = 0.0
        self._healthy = False
        self.committed = 0  # receipts this reader committed, for tests and the benchmark
        self.reading = threading.Event()  # set while this reader holds the lease and is connected

    async def run(self, stopping: asyncio.Event) -> None:
        """Read until *stopping* is set."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def main() -> None:
            try:
                self._main()
            finally:
                with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                    loop.call_soon_threadsafe(_resolve, done)

        self._stop.clear()
        threading.Thread(target=main, name=f"imap-{self.mailbox.name}", daemon=True).start()
        waiter = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait((waiter, done), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            self._stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(done), STOP_GRACE)
            except TimeoutError:  # blocked in a socket call: a read that fails now ends it
                self._interrupt()
                await done

    def _main(self) -> None:
        m = self.mailbox
        backoff = BACKOFF_FIRST
        log.info("IMAP reader started", mailbox=m.name, host=m.host, folder=m.folder)
        while not self._stop.is_set():
            try:
                if self._renew() is None:  # another node reads this mailbox: stand by
                    self._stop.wait(m.lease_seconds / 3)
                    continue
                self._session()
            except Exception as exc:  # the worker-loop catch-all (STYLE.md): reconnect after a pause
                if self._healthy:
                    backoff = BACKOFF_FIRST
                self._healthy = False
                error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                log.error("IMAP reader failed; retrying", mailbox=m.name, error=error, retry_in=backoff)
                with contextlib.suppress(Exception):
                    self._desk.record_error(m.name, error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, m.backoff_max)
            finally:
                self.reading.clear()
                self._disconnect()
        with contextlib.suppress(Exception):
            self._desk.release(m.name, self._owner)
        log.info("IMAP reader stopped", mailbox=m.name)

    def _renew(self) -> MailboxState | None:
        lease = self.mailbox.lease_seconds
        state = self._desk.take_lease(self.mailbox.name, self._owner, timedelta(seconds=lease))
        self._renew_at = time.monotonic() + lease / 3
        return state

    def _renew_if_due(self) -> None:
        if time.monotonic() >= self._renew_at and self._renew() is None:
            raise LeaseLost(f"mailbox {self.mailbox.name}: lease lost to another node")

    def _session(self) -> None:
        """One connection: select, catch up, then wait for news (IDLE or polling) until stopped."""
        m = self.mailbox
        client = self._connect()
        uidvalidity = int(client.select_folder(m.folder)[b"UIDVALIDITY"])
        state = self._renew()
        if state is None:
            return
        last = state.last_uid
        if state.uidvalidity is not None and state.uidvalidity != uidvalidity:
            # RFC 3501 2.3.1.1: the UIDs we remember mean nothing now. Read the folder again; the
            # sha256 check keeps mail already stored from becoming a second receipt.
            log.warning(
                "UIDVALIDITY changed; rescanning", mailbox=m.name, old=state.uidvalidity, new=uidvalidity
            )
            last = 0
        if not client.folder_exists(m.processed_folder):
            with contextlib.suppress(IMAPClient.Error):  # another client may create it at the same time
                client.create_folder(m.processed_folder)
        use_idle = m.idle and client.has_capability("IDLE")
        self.reading.set()
        log.info("IMAP mailbox open", mailbox=m.name, uidvalidity=uidvalidity, last_uid=last, idle=use_idle)
        while not self._stop.is_set():
            last = self._drain(client, uidvalidity, last)
            self._healthy = True
            if self._stop.is_set():
                break
            if use_idle:
                self._idle(client)
            else:
                self._pause(m.poll_seconds)

    def _connect(self) -> Any:
        m = self.mailbox
        context = ssl.create_default_context()
        # A float timeout is the connect timeout and the read timeout of every later call (docs/findings.md).
        client = IMAPClient(m.host, m.port, ssl=m.tls is Tls.IMPLICIT, ssl_context=context, timeout=m.timeout)
        self._client = client
        if m.tls is Tls.STARTTLS:
            client.starttls(context)
        client.login(m.user, m.password)
        return client

    def _drain(self, client: Any, uidvalidity: int, last: int) -> int:
        """Commit and move every message above *last*; return the new mark."""
        self._renew_if_due()
        # imaplib files every unsolicited response (EXPUNGE, COPYUID, RECENT) in a dict that only grows
        # on a long-lived connection: measured, three entries per moved message. We read none of them.
        client._imap.untagged_responses.clear()
        client.noop()  # lets the server report mail that arrived since the last command
        # Every message still here: the folder is emptied as we go, so this stays small. Filter by UID
        # ourselves: `UID n:*` answers the highest UID even when it is below n (docs/findings.md).
        uids = sorted(int(u) for u in client.search(["NOT", "DELETED"]))
        leftovers = [u for u in uids if u <= last]  # committed earlier, the move did not happen
        if leftovers:
            self._move(client, leftovers)
        new = [u for u in uids if u > last]
        for start in range(0, len(new), self.mailbox.batch):
            chunk = new[start : start + self.mailbox.batch]
            fetched = client.fetch(chunk, ["BODY.PEEK[]"])  # PEEK: leave \Seen alone for human readers
            raws = [bytes(fetched[u][b"BODY[]"]) for u in chunk if u in fetched]
            self._commit(uidvalidity, raws, chunk[-1])
            last = chunk[-1]
            self._move(client, chunk)
            if self._stop.is_set():  # the batch in hand is finished; the rest waits for the next start
                break
        return last

    def _commit(self, uidvalidity: int, raws: list[bytes], last_uid: int) -> None:
        m = self.mailbox
        items = [receipt_of(raw, m) for raw in raws]
        stored = self._desk.receive_batch(m.name, self._owner, uidvalidity, last_uid, items)
        self.committed += stored
        log.debug("IMAP receipts stored", mailbox=m.name, count=stored, skipped=len(raws) - stored)

    def _move(self, client: Any, uids: list[int]) -> None:
        target = self.mailbox.processed_folder
        if client.has_capability("MOVE"):  # RFC 6851
            client.move(uids, target)
            return
        client.copy(uids, target)
        client.delete_messages(uids)
        if client.has_capability("UIDPLUS"):  # RFC 4315: expunge only what we flagged
            client.uid_expunge(uids)
        else:
            client.expunge()

    def _idle(self, client: Any) -> None:
        """Wait in IDLE for news; restart it after idle_seconds (RFC 2177: servers may drop at 29 min)."""
        client.idle()
        end = time.monotonic() + self.mailbox.idle_seconds
        while not self._stop.is_set() and time.monotonic() < end:
            began = time.monotonic()
            answer = client.idle_check(timeout=SLICE)
            # After the server drops the connection, idle_check answers a BYE once and then [] at once,
            # forever, without raising (docs/findings.md): both mean the connection is gone.
            if any(isinstance(r, tuple) and r and r[0] == b"BYE" for r in answer):
                raise Disconnected("server said BYE during IDLE")
            if answer:
                break
            if time.monotonic() - began < SLICE / 10:
                raise Disconnected("IDLE answered nothing at once: connection closed")
            self._renew_if_due()
        client.idle_done()

    def _pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop.wait(min(SLICE, max(end - time.monotonic(), 0.0))):
            self._renew_if_due()
            if time.monotonic() >= end:
                return

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if self._stop.is_set() and self._healthy:
                client.logout()
            else:
                client.shutdown()  # after a failure the connection may be dead: do not wait for it

    def _interrupt(self) -> None:
        """Make a socket call that blocks the reader's thread fail now (called from the event loop)."""
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                client.socket().shutdown(socket.SHUT_RDWR)


_HEADERS = BytesHeaderParser()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def receipt_of(raw: bytes, mailbox: MailboxSettings) -> NewReceipt:
    """The receipt of a message read from *mailbox*, with the envelope its delivering MTA recorded.

    mail_from: the topmost Return-Path ("" for the null sender <>), None when there is none.
    rcpt_tos: the topmost Delivered-To and X-Original-To (the envelope recipient, which carries a
    signed reply address that the To header may not), else the mailbox's configured address, else
    nothing (intake then falls back to To and Cc).
    """
    head = _HEADERS.parsebytes(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\n\n")
    return_path = head.get("Return-Path")
    mail_from = parseaddr(str(return_path))[1] if return_path is not None else None
    rcpts: list[str] = []
    for name in ("Delivered-To", "X-Original-To"):
        value = head.get(name)
        address = parseaddr(str(value))[1].lower() if value is not None else ""
        if address and address not in rcpts:
            rcpts.append(address)
    if not rcpts and mailbox.address:
        rcpts.append(mailbox.address)
    return NewReceipt(
        channel=Channel.IMAP, raw=raw, mail_from=mail_from, rcpt_tos=tuple(rcpts), peer=mailbox.peer
    )
