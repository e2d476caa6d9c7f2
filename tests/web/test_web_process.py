"""The web front in a process of its own (docs/decisions/0030-web-processes.md), as `gateway run` starts it:
pages are answered while the accepting process cannot run; a submission made there becomes a case and its
receipt goes out at once; a killed web process is restarted and the connections made meanwhile wait and are
answered; SIGTERM stops everything cleanly, and a web process whose parent was killed exits."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.daemon import RunningDaemon, wait_for
from tests.support.process import DaemonProcess, free_port

pytestmark = pytest.mark.slow

SHIPPED = Path(__file__).resolve().parents[2]  # the repository's own departments.yaml and rules.yaml
TEXT = "Katuvalo on ollut rikki Mannerheimintiellä jo viikon ajan, risteys on pimeä."


@pytest.fixture
def daemon(tmp_path: Path, database_url: str) -> Iterator[DaemonProcess]:
    port = free_port()
    process = DaemonProcess(
        tmp_path / "run",
        database_url,
        SHIPPED,
        http_enabled="true",
        http_port=str(port),
        form_min_seconds="0",
        workers="1",  # one worker: the web process is started beside it by default (web_processes -1)
        # idle workers look for work only every 30 s: a web submission reaches intake at once only because
        # the web process tells the parent, which wakes the worker
        poll_interval="30",
    )
    process.http = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield process.start()
    process.stop()


def _children(pid: int) -> dict[int, str]:
    """The daemon's child processes and their command lines."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            found[int(child)] = cmdline
    return found


def _web_pid(daemon: DaemonProcess) -> int:
    assert daemon.proc is not None
    web = [pid for pid, cmd in _children(daemon.proc.pid).items() if "--loops web" in cmd]
    assert len(web) == 1, _children(daemon.proc.pid)
    return web[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) is gone for our purpose
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


def _submit(base: str) -> str:
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/")
        assert form.status_code == 200
        found = re.search(r'name="token" value="([^"]+)"', form.text)
        assert found is not None
        sent = client.post(
            "/", data={"text": TEXT, "token": found.group(1), "lang": "fi", "email": "asukas@example.fi"}
        )
    assert sent.status_code == 303, sent.text
    return sent.headers["location"].split("/")[2].split("?")[0]


def test_the_web_answers_from_its_own_process_and_comes_back_when_killed(daemon: DaemonProcess) -> None:
    base: str = daemon.http  # type: ignore[attr-defined]
    assert daemon.proc is not None
    wait_for(lambda: httpx.get(base + "/", timeout=30).status_code == 200, 60, "the web front")
    web = _web_pid(daemon)

    # The accepting process stopped: pages are still answered, by the web process.
    daemon.signal(signal.SIGSTOP)
    try:
        answer = httpx.get(base + "/track/HEL-AAAA-AAAA", timeout=10)
    finally:
        daemon.signal(signal.SIGCONT)
    assert answer.status_code == 404
    assert "HEL-AAAA-AAAA" in answer.text

    # A submission made through the web process becomes a case, and its receipt goes out: the web process
    # committed it with its own receipt writer and said so, and intake in another process took it up at
    # once (well before its 30 s poll).
    code = _submit(base)
    maildir = daemon.workdir / "outbox" / "new"

    def receipts() -> list[str]:  # the hand-over to the office carries the code too: only the resident's
        texts = (p.read_text(errors="replace") for p in maildir.glob("*"))
        return [t for t in texts if code in t and "X-Envelope-To: <asukas@example.fi>" in t]

    wait_for(receipts, 15, "the receipt of the web submission")
    tracked = httpx.get(f"{base}/track/{code}", timeout=10)
    assert tracked.status_code == 200 and code in tracked.text

    # Killed, the web process is restarted; a request made meanwhile waits in the kernel's queue (the
    # parent holds the listening socket) and is answered, not refused.
    os.kill(web, signal.SIGKILL)
    wait_for(lambda: not _alive(web), 10, "the web process to die")
    began = time.monotonic()
    again = httpx.get(base + "/", timeout=60)
    assert again.status_code == 200
    assert _web_pid(daemon) != web
    assert time.monotonic() - began < 30

    # SIGTERM: the daemon and its web process stop, cleanly.
    web = _web_pid(daemon)
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(30) == 0
    assert not _alive(web)
    log = daemon.log.read_text()
    assert "Traceback" not in log, log


def test_a_web_process_whose_parent_was_killed_exits(daemon: DaemonProcess) -> None:
    base: str = daemon.http  # type: ignore[attr-defined]
    wait_for(lambda: httpx.get(base + "/", timeout=30).status_code == 200, 60, "the web front")
    web = _web_pid(daemon)
    daemon.signal(signal.SIGKILL)
    daemon.wait(10)
    wait_for(lambda: not _alive(web), 30, "the orphaned web process to exit")
    with pytest.raises(httpx.ConnectError):  # nobody holds the port any more
        httpx.get(base + "/", timeout=5)


@pytest.mark.parametrize("door", ["smtp", "http"])
def test_a_port_taken_by_another_program_is_named_with_its_settings(
    tmp_path: Path, database_url: str, door: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = DaemonProcess(tmp_path / "run", database_url, SHIPPED, http_enabled="true")
        process.env[f"GATEWAY_{door.upper()}_PORT"] = str(port)
        if door == "smtp":
            process.env["GATEWAY_HTTP_PORT"] = str(free_port())
        process.workdir.mkdir(parents=True)
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "run"],
            cwd=process.workdir,
            env=process.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"127.0.0.1:{port}" in last and f"settings {door}_host and {door}_port" in last, done.stderr
    assert "Traceback" not in done.stderr


def test_connections_to_the_web_front_send_without_delay(start_gateway: Callable[..., RunningDaemon]) -> None:
    """Nagle's algorithm off on every accepted connection: with it on, each answer's body waited for the
    client's delayed acknowledgement of its head (40 ms), which the in-process web front did when it was
    handed a socket that did not say it was TCP."""
    gw = start_gateway(config_dir=SHIPPED)
    with httpx.Client(base_url=f"http://127.0.0.1:{gw.parts.http.port}") as client:
        assert client.get("/").status_code == 200  # the connection stays open (keep-alive)
        connections = list(gw.parts.http._server.server_state.connections)
        assert connections
        for connection in connections:
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_sighup_reaches_the_web_process(tmp_path: Path, database_url: str) -> None:
    """`systemctl reload` sends SIGHUP to the daemon only; with no polling of the files, the web process
    shows an edited configuration because the accepting process passes the signal on."""
    city = tmp_path / "city"
    city.mkdir()
    for name in ("departments.yaml", "rules.yaml", "areas.geojson"):
        (city / name).write_bytes((SHIPPED / name).read_bytes())
    port = free_port()
    daemon = DaemonProcess(
        tmp_path / "run", database_url, city, http_enabled="true", http_port=str(port), workers="1",
        config_poll_seconds="0",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        daemon.start()
        wait_for(lambda: httpx.get(base + "/", timeout=30).status_code == 200, 60, "the web front")
        assert "Katujen kunnossapito" in httpx.get(base + "/", timeout=10).text
        departments = (city / "departments.yaml").read_text()
        (city / "departments.yaml").write_text(departments.replace("Katujen kunnossapito", "Katujen hoito"))
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: "Katujen hoito" in httpx.get(base + "/", timeout=10).text, 30, "the web to reload")
    finally:
        daemon.stop()
