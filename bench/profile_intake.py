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
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smtp_throughput import load_corpus
from worker_env import worker


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    w = worker(None, "prof_intake_")
    corpus = load_corpus(5000)[: a.n]
    w.commit([(sender, raw, "palaute@hel.example") for sender, raw in corpus])
    work = Path(w.settings.outbox_maildir).parent

    async def go() -> tuple[float, float, float, float]:
        d = w.daemon
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
