"""uvicorn inside the daemon's own event loop, beside SMTP (docs/findings.md: `Server.serve` installs
its own SIGINT/SIGTERM handlers and re-raises the signal; the daemon owns the signals, so the server is
started and stopped here through uvicorn's startup and shutdown steps instead)."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.types import ASGIApp


class HttpServer:
    """The web front's server. `start` answers on a socket from `listen`, `stop` stops accepting, lets
    the requests in flight finish (up to *grace* seconds) and closes."""

    def __init__(
        self, app: ASGIApp, host: str, port: int, trusted_proxies: tuple[str, ...], grace: float = 10.0
    ) -> None:
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="off",
            log_config=None,  # uvicorn's loggers go through ours (gateway/runtime/logs.py)
            access_log=False,
            server_header=False,
            date_header=False,  # uvicorn refreshes it only in the main loop we do not run
            # X-Forwarded-For and -Proto are believed only from the city's reverse proxies; with none
            # configured, from nobody (uvicorn's default trusts 127.0.0.1)
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies) or [],
            timeout_graceful_shutdown=int(grace),
            timeout_keep_alive=5,
            # h11, not httptools even when installed: httptools answered 20-35% more pages a second here but
            # bounds neither the request head's size nor its number of headers (tests/web/test_http_limits.py:
            # a 200 KB header and 20,000 headers were taken); h11 refuses a head past this many bytes
            http="h11",
            h11_max_incomplete_event_size=64 * 1024,  # request line and headers
        )
        self._server = uvicorn.Server(self._config)
        self.port = port

    async def start(self, sock: socket.socket) -> None:
        """Answer on *sock*, a listening socket from `listen` (in a web process, its parent's)."""
        config = self._config
        if not config.loaded:
            config.load()
        self._server.lifespan = config.lifespan_class(config)
        await self._server.startup(sockets=[sock])
        if self._server.servers:
            sockets = self._server.servers[0].sockets
            self.port = int(sockets[0].getsockname()[1]) if sockets else self.port

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._server.started:
            await self._server.shutdown()
            # A connection the listener had accepted while it closed is made after uvicorn's shutdown
            # went through its connections: close it too, or the loop ends with its socket open.
            for _ in range(10):  # the accepts in hand become connections within a few ticks
                await asyncio.sleep(0.002)  # (20 ms in all: 200 was a fifth of a second per stop)
                for connection in list(self._server.server_state.connections):
                    transport = getattr(connection, "transport", None)
                    if transport is not None and not transport.is_closing():
                        transport.close()


BACKLOG = 2048  # uvicorn's own default: connections the kernel holds until a web process accepts them


def listen(host: str, port: int) -> socket.socket:
    """The web front's listening socket (port 0 picks a free one), inheritable by web processes. It
    listens at once, so that connections made while a web process starts, or is restarted, wait instead of
    being refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on connections
    # whose socket says TCP, and an accepted socket says what its listener said. Without it every answer's
    # body waited for the client's delayed ACK: 44 ms a page (bench/RESULTS.md, decision 0030).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
