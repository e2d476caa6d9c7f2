"""The daemon as users run it: `python -m gateway run` in a subprocess, with settings from the environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.daemon import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class DaemonProcess:
    def __init__(self, workdir: Path, database_url: str, config_dir: Path, **settings: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_CONFIG_DIR": str(config_dir),
            "GATEWAY_SMTP_PORT": str(self.port),
            "GATEWAY_OUTBOX_MAILDIR": str(workdir / "outbox"),
            "GATEWAY_POLL_INTERVAL": "0.1",
            "GATEWAY_HTTP_ENABLED": "false",  # tests of the web front turn it on with a port of their own
            # Short leases: after a crash, the next process takes over the dead one's claims quickly.
            "GATEWAY_INTAKE_LEASE_SECONDS": "2",
            "GATEWAY_OUTBOX_LEASE_SECONDS": "2",
            "GATEWAY_REPLY_SECRET": "test-secret-of-the-suite-0123456789abcdef",
            # Every test sender connects from 127.0.0.1, so the bursts here are one client: the shipped
            # 300 new cases an hour per client would withhold receipts once a slow machine lets a burst run
            # past it (CI, issue 15's landing). tests/test_backscatter.py tests that limit.
            "GATEWAY_NEW_CASES_PER_CLIENT_PER_HOUR": "0",
            **{f"GATEWAY_{k.upper()}": v for k, v in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "daemon.log"

    def start(self) -> DaemonProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "run"],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,  # its own group: kill_group() takes its workers with it, as a crash would
            )
        wait_for(lambda: listening(self.port) or self.proc.poll() is not None, 30, "the daemon to listen")  # type: ignore[union-attr]
        assert self.proc.poll() is None, self.log.read_text()
        return self

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill_group(self, sig: int) -> None:
        """Signal the daemon and every worker it started at once (the whole process group)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)

    def wait(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
