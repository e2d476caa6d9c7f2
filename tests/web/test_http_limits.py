"""The HTTP layer's own bounds, below the app (uvicorn with httptools): a request line or header block
far past any browser's is refused, and the daemon answers the next request as before."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

import httpx
import pytest

from tests.support.daemon import RunningDaemon
from tests.web.test_form import SHIPPED, url


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED)


def raw(web: RunningDaemon, request: bytes) -> bytes:
    """What the web front answers *request* sent as it is, until it closes or 64 KB came back."""
    with socket.create_connection(("127.0.0.1", web.parts.http.port), timeout=10) as s:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused while still sending
            s.sendall(request)
        answer = b""
        try:
            while len(answer) < 65536 and (chunk := s.recv(65536)):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /track/" + b"A" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200_000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(20_000)) + b"\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 500,  # a TLS hello on the plain port
    ],
    ids=["request-line-200k", "header-200k", "20000-headers", "negative-length", "tls-hello"],
)
def test_requests_past_any_bound_are_refused_and_the_daemon_goes_on(
    web: RunningDaemon, request_bytes: bytes
) -> None:
    answer = raw(web, request_bytes)
    status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.1 ") else b""
    assert answer == b"" or status.startswith(b"4"), answer[:200]
    assert httpx.get(url(web, "/"), timeout=10).status_code == 200
