"""One test per override of gateway/channels/aiosmtpd_overrides.py, failing loudly when aiosmtpd moves.

`GatewaySMTP` replaces members of aiosmtpd's `SMTP`, most of them private. If aiosmtpd renames one, the
override is simply never called and nothing fails, so for every member replaced (or called) there is a
test that it still exists with the signature the override relies on, and a test of what the override
does through a running daemon. Behaviour tests that already exist elsewhere are not repeated here:

- a DATA line longer than 1,000 octets is accepted: test_smtp.py
  `test_lines_longer_than_1000_bytes_are_accepted` (DataReader reads such a line whatever the stream's
  limit, so `line_length_limit` has its own test below);
- DATA over the size limit gets 552: test_smtp.py `test_oversized_mail_gets_552_and_is_not_stored`
  (and below: the answer is aiosmtpd's own);
- DATA over the memory budget gets 452 4.3.1: test_smtp_limits.py
  `test_data_over_the_memory_in_flight_is_refused_with_452_and_accepted_later`;
- the session deadline answers 421 4.4.2 even with NOOPs (`connection_made`): test_smtp_limits.py
  `test_noops_do_not_keep_a_session_past_its_time_limit`;
- a connection over the per-client cap gets 421 before any 220 (`_handle_client`): test_smtp_limits.py
  `test_a_client_over_its_connection_cap_is_told_421_and_the_others_are_served`, and the total cap
  `test_connections_over_the_total_cap_are_refused`;
- `command_call_limit` reaches aiosmtpd (`__init__`): test_smtp_limits.py
  `test_a_flood_of_one_command_hits_its_call_limit`.
"""

from __future__ import annotations

import asyncio
import inspect
import smtplib
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiosmtpd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from gateway.channels.aiosmtpd_overrides import GatewaySMTP
from gateway.channels.smtp_limits import ConnectionCount, DataBudget, SmtpLimits
from tests.support.daemon import RunningDaemon
from tests.support.mail import make_mail
from tests.support.process import free_port

P = inspect.Parameter
PINNED = "1.4.6"


def replaced(name: str) -> Any:
    """aiosmtpd's own `SMTP.<name>`, which GatewaySMTP overrides or calls; fails if aiosmtpd dropped it."""
    assert name in vars(SMTP), (
        f"aiosmtpd's SMTP no longer defines {name}: GatewaySMTP's override of it is never called. "
        "Re-check gateway/channels/aiosmtpd_overrides.py against the new aiosmtpd."
    )
    return vars(SMTP)[name]


def parameters(function: Callable[..., Any]) -> list[tuple[str, Any]]:
    """The names and kinds of a function's parameters: what a caller or an override relies on (the
    annotations of aiosmtpd may change freely)."""
    return [(p.name, p.kind) for p in inspect.signature(function).parameters.values()]


@pytest.fixture
def server() -> Iterator[GatewaySMTP]:
    """A GatewaySMTP as SmtpServer makes one, not connected; its own loop, so that aiosmtpd does not
    reach for the deprecated current loop."""
    loop = asyncio.new_event_loop()
    limits = SmtpLimits()
    yield GatewaySMTP(
        object(),
        hostname="gateway.test",  # without it aiosmtpd calls getfqdn()
        decode_data=False,
        loop=loop,
        limits=limits,
        connections=ConnectionCount(limits),
        budget=DataBudget(1024),
    )
    loop.close()


def test_aiosmtpd_is_the_pinned_version() -> None:
    assert aiosmtpd.__version__ == PINNED, (
        f"aiosmtpd {aiosmtpd.__version__} is installed, the overrides are written against {PINNED}: "
        "re-check every override in gateway/channels/aiosmtpd_overrides.py against the new version, "
        "then update the pin in setup.cfg and this test."
    )


# line_length_limit


def test_line_length_limit_is_still_the_attribute_that_sizes_the_sessions_stream(server: GatewaySMTP) -> None:
    assert isinstance(replaced("line_length_limit"), int)
    # aiosmtpd's __init__ builds the session's StreamReader with `limit=self.line_length_limit`; no reply
    # shows the limit (DataReader reads long lines at any limit), so look at the reader itself.
    assert server._stream_reader is not None
    assert server._stream_reader._limit == GatewaySMTP.line_length_limit == 1024 * 1024


# __init__


def test_init_still_takes_the_keywords_we_pass() -> None:
    init = replaced("__init__")
    params = dict(parameters(init))
    assert list(params)[:2] == ["self", "handler"]
    passed = ("timeout", "command_call_limit", "decode_data", "data_size_limit", "hostname", "ident")
    passed += ("enable_SMTPUTF8", "loop")
    assert {name: params.get(name) for name in passed} == dict.fromkeys(passed, P.KEYWORD_ONLY)


def test_init_passes_the_idle_timeout_and_refuses_decode_data(server: GatewaySMTP) -> None:
    # `_decode_data` is what aiosmtpd's DATA and EHLO read; our check reads it too.
    assert server._decode_data is False
    assert server._timeout_duration == SmtpLimits().idle_seconds
    limits = SmtpLimits()
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="decode_data must be False"):
            GatewaySMTP(
                object(),
                hostname="gateway.test",
                decode_data=True,
                loop=loop,
                limits=limits,
                connections=ConnectionCount(limits),
                budget=DataBudget(1024),
            )
    finally:
        loop.close()


def test_a_silent_session_is_closed_after_the_idle_timeout(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    gateway = start_gateway(smtp_idle_seconds=0.5, smtp_session_seconds=30.0)
    started = time.monotonic()
    with (
        socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as raw,
        raw.makefile("rb") as lines,
    ):
        assert lines.readline().startswith(b"220")
        assert lines.readline() == b""  # aiosmtpd closes without a word
    assert time.monotonic() - started < 5  # the idle timeout, not the 30 s deadline nor the socket's 10 s


# connection_made / connection_lost


def test_connection_made_and_connection_lost_keep_their_signatures() -> None:
    assert parameters(replaced("connection_made")) == [
        ("self", P.POSITIONAL_OR_KEYWORD),
        ("transport", P.POSITIONAL_OR_KEYWORD),
    ]
    assert parameters(replaced("connection_lost")) == [
        ("self", P.POSITIONAL_OR_KEYWORD),
        ("error", P.POSITIONAL_OR_KEYWORD),
    ]


# _handle_client


def test_handle_client_is_still_the_coroutine_that_greets() -> None:
    handle_client = replaced("_handle_client")
    assert inspect.iscoroutinefunction(handle_client)
    assert parameters(handle_client) == [("self", P.POSITIONAL_OR_KEYWORD)]


# _getaddr


def test_getaddr_keeps_its_signature() -> None:
    getaddr = replaced("_getaddr")
    assert not inspect.iscoroutinefunction(getaddr)
    assert parameters(getaddr) == [("self", P.POSITIONAL_OR_KEYWORD), ("arg", P.POSITIONAL_OR_KEYWORD)]


ADDRESSES = [
    "matti@example.fi",
    "<matti@example.fi>",
    "<matti@example.fi> SIZE=10",
    "<matti@example.fi> SIZE=10 BODY=8BITMIME SMTPUTF8",
    "matti@example.fi SIZE=10",
    "  <matti@example.fi>",
    "",
    "<>",
    "<> SIZE=10",
    "<",
    "<matti@example.fi",
    "@@",
    "not an address@@",
    "<not an address@@>",
    "<palaute@@hel.example>",
    "<@relay.example:matti@example.fi>",  # a source route
    '"matti meikäläinen"@example.fi',
    '<"matti.m."@example.fi>',
    '<"a\\"b"@example.fi>',
    "<åsa@exempel.se>",
    "<matti@[127.0.0.1]>",
    "<" + "m" * 65 + "@example.fi>",
    "<" + "m" * 64 + "@example.fi>",
    "<" + "m" * 65 + "@example.fi> SIZE=10",
]


@pytest.mark.parametrize("local_part_limit", [0, 64])
@pytest.mark.parametrize("arg", ADDRESSES)
def test_getaddr_answers_as_aiosmtpds_own(server: GatewaySMTP, arg: str, local_part_limit: int) -> None:
    server.local_part_limit = local_part_limit
    assert outcome(server._getaddr, arg) == outcome(lambda a: SMTP._getaddr(server, a), arg)


def outcome(parse: Callable[[str], tuple[str | None, str | None]], arg: str) -> object:
    """What *parse* answers, or the type of what it raises: the email parser raises IndexError on a
    lone "<", in aiosmtpd's parsing as in ours, and that must stay the same too."""
    try:
        return parse(arg)
    except Exception as exc:
        return type(exc)


def test_getaddr_of_a_too_long_local_part_is_refused_when_a_limit_is_set(server: GatewaySMTP) -> None:
    # The table above must reach the limit's branch, or the agreement says nothing about it.
    long_local = "<" + "m" * 65 + "@example.fi>"
    assert server._getaddr(long_local) == ("m" * 65 + "@example.fi", "")
    server.local_part_limit = 64
    assert server._getaddr(long_local) == (None, None)


def test_mail_and_rcpt_still_parse_with_getaddr(
    gateway: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were aiosmtpd to parse addresses elsewhere, our override would be dead code: see it called."""
    seen: list[str] = []
    ours = GatewaySMTP._getaddr

    def spy(self: GatewaySMTP, arg: str) -> tuple[str | None, str | None]:
        seen.append(arg)
        return ours(self, arg)

    monkeypatch.setattr(GatewaySMTP, "_getaddr", spy)
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        assert client.mail("matti@example.fi")[0] == 250
        assert client.rcpt("palaute@hel.example")[0] == 250
    assert any("matti@example.fi" in arg for arg in seen), seen
    assert any("palaute@hel.example" in arg for arg in seen), seen


# smtp_DATA


def test_smtp_data_and_what_it_calls_keep_their_signatures() -> None:
    data = replaced("smtp_DATA")
    assert inspect.iscoroutinefunction(data)
    assert parameters(data) == [("self", P.POSITIONAL_OR_KEYWORD), ("arg", P.POSITIONAL_OR_KEYWORD)]
    # HELP DATA reads what @syntax recorded: ours must say what aiosmtpd's says.
    assert GatewaySMTP.smtp_DATA.__smtp_syntax__ == data.__smtp_syntax__ == "DATA"
    self_ = ("self", P.POSITIONAL_OR_KEYWORD)
    calls = {
        "check_helo_needed": [self_, ("helo", P.POSITIONAL_OR_KEYWORD)],
        "check_auth_needed": [self_, ("caller_method", P.POSITIONAL_OR_KEYWORD)],
        "push": [self_, ("status", P.POSITIONAL_OR_KEYWORD)],
        "_call_handler_hook": [self_, ("command", P.POSITIONAL_OR_KEYWORD), ("args", P.VAR_POSITIONAL)],
        "_set_post_data_state": [self_],
    }
    assert {name: parameters(replaced(name)) for name in calls} == calls
    assert inspect.iscoroutinefunction(replaced("_call_handler_hook"))


@pytest.fixture
def plain_aiosmtpd() -> Iterator[int]:
    """aiosmtpd's own server, no hooks, for the replies our smtp_DATA must share with it."""
    port = free_port()
    controller = Controller(object(), hostname="127.0.0.1", port=port, data_size_limit=20_000)
    controller.start()
    yield port
    controller.stop()


def last_reply(port: int, lines: list[bytes]) -> bytes:
    """Send *lines* one by one on a raw connection; the first line of the reply to the last one."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, raw.makefile("rb") as replies:
        assert replies.readline().startswith(b"220")
        reply = b""
        for line in lines:
            raw.sendall(line + b"\r\n")
            while (reply := replies.readline())[3:4] == b"-":  # the rest of a multi-line reply
                pass
        return reply.rstrip(b"\r\n")


ENVELOPE = [b"EHLO client.example", b"MAIL FROM:<matti@example.fi>", b"RCPT TO:<palaute@hel.example>"]
TOO_BIG = make_mail(body="lunta " * 10_000).as_bytes().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param([b"DATA"], b"503 Error: send HELO first", id="before-helo"),
        pytest.param([b"EHLO client.example", b"DATA"], b"503 Error: need RCPT command", id="no-rcpt"),
        pytest.param([*ENVELOPE, b"DATA now"], b"501 Syntax: DATA", id="argument"),
        pytest.param([b"EHLO client.example", b"HELP DATA"], b"250 Syntax: DATA", id="help"),
        pytest.param([*ENVELOPE, b"DATA", TOO_BIG + b"."], b"552 Error: Too much mail data", id="too-big"),
    ],
)
def test_data_answers_as_aiosmtpds_own(
    start_gateway: Callable[..., RunningDaemon], plain_aiosmtpd: int, lines: list[bytes], expected: bytes
) -> None:
    gateway = start_gateway(max_message_size=20_000)
    assert last_reply(plain_aiosmtpd, lines) == expected  # what aiosmtpd 1.4.6 answers
    assert last_reply(gateway.port, lines) == expected
