#!/usr/bin/env python3
"""CPU profile of the intake and outbox workers alone (no SMTP, no concurrency), in one thread.

Inserts N corpus messages as pending receipts into a fresh SQLite database, then runs the daemon's own
Intake.run_once / OutboxWorker.run_once under cProfile and prints per-message CPU and the top functions.

    .venv/bin/python bench/profile_intake.py --n 500
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smtp_throughput import config_dir, load_corpus


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prof_intake_"))
    cfg, _ = config_dir()
    os.environ.update(
        GATEWAY_DATABASE_URL=f"sqlite:///{work}/gw.db",
        GATEWAY_CONFIG_DIR=str(cfg),
        GATEWAY_OUTBOX_MAILDIR=str(work / "outbox"),
        GATEWAY_LOG_LEVEL="WARNING",
        GATEWAY_NOTICES_PER_RECIPIENT_PER_HOUR="1000000",
    )
    from gateway.cli import _load_live
    from gateway.daemon import Daemon
    from gateway.live_config import LiveConfig
    from gateway.logs import configure_logging
    from gateway.settings import load_settings
    from gateway.store import migrate
    from gateway.store.db import Database, make_engine
    from gateway.store.receipts import NewReceipt, insert_receipts

    settings = load_settings()
    configure_logging("WARNING", "json")
    db = Database(make_engine(settings.database_url))
    migrate.upgrade(db)
    corpus = load_corpus(5000)[: a.n]
    with db.write() as conn:
        insert_receipts(
            conn,
            [NewReceipt("smtp", raw, s, ("palaute@hel.example",), "127.0.0.1") for s, raw in corpus],
            __import__("datetime").datetime.now(__import__("datetime").UTC),
        )

    async def go() -> tuple[float, float, float, float]:
        d = Daemon(settings, LiveConfig(settings, _load_live(settings)), db)
        prof = cProfile.Profile()
        c0, t0 = time.process_time(), time.perf_counter()
        prof.enable()
        while d.intake.run_once(64):
            pass
        prof.disable()
        c1, t1 = time.process_time(), time.perf_counter()
        prof.enable()
        while await d.outbox.run_once():
            pass
        prof.disable()
        c2, t2 = time.process_time(), time.perf_counter()
        prof.dump_stats(str(work / "intake.prof"))
        return c1 - c0, t1 - t0, c2 - c1, t2 - t1

    ci, wi, co, wo = asyncio.run(go())
    n = a.n
    print(
        f"intake: {1000 * ci / n:.2f} ms CPU/msg ({1000 * wi / n:.2f} ms wall); "
        f"outbox: {1000 * co / n:.2f} ms CPU/msg ({1000 * wo / n:.2f} ms wall) — cProfile overhead included"
    )
    st = pstats.Stats(str(work / "intake.prof"))
    st.sort_stats("tottime").print_stats(a.top)
    st.sort_stats("cumulative").print_stats(r"gateway/", a.top)


if __name__ == "__main__":
    main()
