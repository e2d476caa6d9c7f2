"""A real HTTP server on loopback that receives webhooks and checks their signature, as an app would."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]
    signature_ok: bool


@dataclass
class WebhookReceiver:
    secret: str
    fail_first: int = 0  # answer 503 to this many requests first
    received: list[Received] = field(default_factory=list)
    attempts: int = 0

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                stamp = self.headers.get("X-Gateway-Timestamp", "")
                expected = (
                    "sha256="
                    + hmac.new(
                        receiver.secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256
                    ).hexdigest()
                )
                ok = hmac.compare_digest(expected, self.headers.get("X-Gateway-Signature", ""))
                receiver.received.append(Received(json.loads(raw), dict(self.headers), ok))
                self.send_response(202 if ok else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/cases"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
