"""What one SMTP client may take of the server (issue 15): connections, session time, commands, memory."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from gateway.channels.smtp_limits import DataBudget, SmtpLimits
from gateway.store.tables import receipts
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import count, make_mail


@contextmanager
def connection(port: int) -> Iterator[tuple[socket.socket, Callable[[], bytes]]]:
    """A raw connection and a reader of one reply line at a time."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, raw.makefile("rb") as lines:
        yield raw, lines.readline


def command(raw: socket.socket, readline: Callable[[], bytes], line: bytes) -> bytes:
    raw.sendall(line + b"\r\n")
    while (reply := readline())[3:4] == b"-":  # multi-line replies
        pass
    return reply


def test_a_client_over_its_connection_cap_is_told_421_and_the_others_are_served(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    gateway = start_gateway(smtp_max_connections_per_client=3)
    with ExitStack() as stack:
        open_ = [stack.enter_context(connection(gateway.port)) for _ in range(3)]
        assert all(readline().startswith(b"220") for _, readline in open_)
        with connection(gateway.port) as (_, readline):
            refusal = readline()
            assert refusal.startswith(b"421 4.7.0")
            assert b"from your address" in refusal
            assert readline() == b""  # and the server closed it
        raw, readline = open_[0]
        assert command(raw, readline, b"QUIT").startswith(b"221")
    # the sessions that closed no longer count: a new one is greeted
    wait_for(lambda: gateway.parts.smtp.connections.total == 0, what="the sessions to close")
    with connection(gateway.port) as (_, readline):
        assert readline().startswith(b"220")


def test_connections_over_the_total_cap_are_refused(start_gateway: Callable[..., RunningDaemon]) -> None:
    gateway = start_gateway(smtp_max_connections=2)
    with connection(gateway.port) as (_, first), connection(gateway.port) as (_, second):
        assert first().startswith(b"220") and second().startswith(b"220")
        with connection(gateway.port) as (_, third):
            assert third().startswith(b"421 4.7.0 Too many connections,")


def test_noops_do_not_keep_a_session_past_its_time_limit(start_gateway: Callable[..., RunningDaemon]) -> None:
    gateway = start_gateway(smtp_session_seconds=1.0, smtp_idle_seconds=30.0)
    started = time.monotonic()
    with connection(gateway.port) as (raw, readline):
        assert readline().startswith(b"220")
        replies = []
        while time.monotonic() - started < 5:
            try:
                reply = command(raw, readline, b"NOOP")
            except (BrokenPipeError, ConnectionResetError):
                break
            replies.append(reply)
            if not reply.startswith(b"250"):
                break
            time.sleep(0.1)
    assert replies[-1].startswith(b"421 4.4.2"), replies[-3:]
    assert time.monotonic() - started < 3


def test_a_flood_of_one_command_hits_its_call_limit(gateway: RunningDaemon) -> None:
    limit = SmtpLimits().chatter_per_session
    with connection(gateway.port) as (raw, readline):
        assert readline().startswith(b"220")
        assert all(command(raw, readline, b"NOOP").startswith(b"250") for _ in range(limit))
        assert command(raw, readline, b"NOOP").startswith(b"421 4.7.0 NOOP sent too many times")


def test_many_messages_on_one_connection_are_still_served(gateway: RunningDaemon) -> None:
    """The per-session budget is for MAIL, RCPT and DATA rounds, so a relay reusing its connection
    (as mail servers do) is not cut off after the chatter limit."""
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        for n in range(SmtpLimits().chatter_per_session + 5):
            client.sendmail(
                "matti@example.fi", ["palaute@hel.example"], make_mail(subject=f"n{n}").as_bytes()
            )
    wait_for(lambda: count(gateway.db, receipts) == SmtpLimits().chatter_per_session + 5, what="receipts")


def test_data_over_the_memory_in_flight_is_refused_with_452_and_accepted_later(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    size = 4 * 1024 * 1024
    gateway = start_gateway(max_message_size=size, smtp_data_in_flight_bytes=size)
    budget: DataBudget = gateway.parts.smtp.budget
    body = make_mail().as_bytes()
    filler = (b"x" * 998 + b"\r\n") * (3 * 1024)  # 3 MB of long lines, no terminator yet
    with connection(gateway.port) as (slow, slow_reply), connection(gateway.port) as (fast, fast_reply):
        for raw, readline in ((slow, slow_reply), (fast, fast_reply)):
            assert readline().startswith(b"220")
            for line in (
                b"EHLO c.example",
                b"MAIL FROM:<matti@example.fi>",
                b"RCPT TO:<palaute@hel.example>",
            ):
                assert command(raw, readline, line).startswith(b"250")
            assert command(raw, readline, b"DATA").startswith(b"354")
        slow.sendall(body + filler)  # held in memory, DATA not finished
        wait_for(lambda: budget.held > size // 3, what="the slow DATA to be held")
        assert command(fast, fast_reply, body + filler + b".").startswith(b"452 4.3.1")
        assert command(slow, slow_reply, b".").startswith(b"250")
        assert budget.held == 0
        # the refused sender tries again on the same connection, and now there is room
        for line in (b"MAIL FROM:<matti@example.fi>", b"RCPT TO:<palaute@hel.example>", b"DATA"):
            command(fast, fast_reply, line)
        assert command(fast, fast_reply, body + filler + b".").startswith(b"250")
    assert budget.held == 0
    wait_for(lambda: count(gateway.db, receipts) == 2, what="both receipts")
