#!/usr/bin/env python3
"""IMAP intake benchmark: messages per second from a Dovecot mailbox into committed receipts.

One run = a throwaway Dovecot on a loopback port (tests/support/dovecot.py), the shared corpus
(/work/shared/bench/make_corpus.py --seed 1, cached in /tmp) APPENDed into its INBOX, a fresh database,
then one ImapReader started and timed until every message is a committed receipt and the INBOX is empty.

    .venv/bin/python bench/imap_throughput.py --n 2000 --db sqlite
    .venv/bin/python bench/imap_throughput.py --n 2000 --db postgres --batch 100
    .venv/bin/python bench/imap_throughput.py --n 500 --idle   # mail APPENDed while the reader IDLEs

Intake (receipts into cases) is not part of this run: bench/smtp_throughput.py measures it end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support.dovecot

from sqlalchemy import func, select  # noqa: E402

from gateway.channels.imap import ImapReader  # noqa: E402
from gateway.intake.mailbox_desk import MailboxDesk  # noqa: E402
from gateway.settings.mailboxes import MailboxSettings, Tls  # noqa: E402
from gateway.store import migrate  # noqa: E402
from gateway.store.db import Database, make_engine  # noqa: E402
from gateway.store.tables import receipts  # noqa: E402
from tests.support.dovecot import PASSWORD, Dovecot  # noqa: E402

CORPUS_TOOL = Path("/work/shared/bench/make_corpus.py")
CORPUS_CACHE = Path(os.environ.get("BENCH_CORPUS_CACHE", "/tmp/bench_corpus"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def corpus(n: int) -> list[bytes]:
    out = CORPUS_CACHE / f"c{n}"
    if not (out.is_dir() and len(list(out.glob("*.eml"))) == n):
        CORPUS_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(CORPUS_TOOL), "--n", str(n), "--out", str(out), "--seed", "1"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return [p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for p in sorted(out.glob("*.eml"))]


def database(kind: str, work: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{work}/gateway.db", None
    import psycopg

    name = f"bench_imap_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", name


def committed(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(receipts)).scalar_one())


def append_all(server: Dovecot, raws: list[bytes]) -> float:
    t0 = time.perf_counter()
    with server.client() as client:
        for raw in raws:
            client.append("INBOX", raw)
    return time.perf_counter() - t0


def run(n: int, kind: str, batch: int, idle_feed: bool) -> dict[str, object]:
    raws = corpus(n)
    work = Path(tempfile.mkdtemp(prefix="bench_imap_"))
    server = Dovecot().start()
    url, pg_name = database(kind, work)
    db = Database(make_engine(url))
    result: dict[str, object] = {
        "n": n,
        "db": kind,
        "batch": batch,
        "mode": "idle-feed" if idle_feed else "backlog",
    }
    try:
        migrate.upgrade(db)
        if not idle_feed:
            append_s = append_all(server, raws)
            result["append_per_s"] = round(n / append_s, 1)
        box = MailboxSettings(
            name="bench", host="127.0.0.1", user=server.user, password=PASSWORD, port=server.port,
            tls=Tls.NONE, address="palaute@hel.example", batch=batch, timeout=30.0,
        )  # fmt: skip
        reader = ImapReader(box, MailboxDesk(db, lambda: datetime.now(UTC)), "bench")
        loop_ready = threading.Event()
        state: dict[str, object] = {}

        async def main() -> None:
            state["loop"], state["stop"] = asyncio.get_running_loop(), asyncio.Event()
            loop_ready.set()
            await reader.run(state["stop"])  # type: ignore[arg-type]

        thread = threading.Thread(target=asyncio.run, args=(main(),))
        t0 = time.perf_counter()
        c0 = time.process_time()
        thread.start()
        loop_ready.wait()
        if idle_feed:
            reader.reading.wait(30)
            t0 = time.perf_counter()
            c0 = time.process_time()
            feeder = threading.Thread(target=append_all, args=(server, raws))
            feeder.start()
        while committed(db) < n:
            time.sleep(0.05)
            if time.perf_counter() - t0 > 60 + n / 5:
                result["note"] = "timed out"
                break
        t_commit = time.perf_counter() - t0
        while server.count("INBOX") and time.perf_counter() - t0 < 60 + n / 5:
            time.sleep(0.05)
        t_empty = time.perf_counter() - t0
        cpu = time.process_time() - c0
        loop = state["loop"]
        loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
        thread.join(30)
        if idle_feed:
            feeder.join()
        result.update(
            receipts=committed(db),
            processed_folder=server.count("Processed"),
            commit_s=round(t_commit, 2),
            receipts_per_s=round(n / t_commit, 1),
            inbox_empty_s=round(t_empty, 2),
            process_cpu_s=round(cpu, 2),
            ok=committed(db) == n and server.count("Processed") == n and server.count("INBOX") == 0,
        )
        return result
    finally:
        db.dispose()
        server.close()
        if pg_name:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", str(work)], check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--batch", type=int, default=50, help="messages fetched and committed together")
    ap.add_argument("--idle", action="store_true", help="APPEND while the reader IDLEs instead of a backlog")
    a = ap.parse_args()
    result = run(a.n, a.db, a.batch, a.idle)
    print(json.dumps(result))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
