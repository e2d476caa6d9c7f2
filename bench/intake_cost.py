#!/usr/bin/env python3
"""CPU cost per message of each worker stage, without SMTP: parse, intake, outbox, deadline planning.

Inserts N corpus messages as committed receipts into a fresh database, then runs the daemon's own
Intake, OutboxWorker and DeadlineWorker rounds in this process and prints milliseconds per message.

    .venv/bin/python bench/intake_cost.py [--n 1000] [--db postgresql://postgres@127.0.0.1:5432/DB]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smtp_throughput import load_corpus
from worker_env import worker

from gateway.mail import parse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--db", help="a database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    w = worker(args.db, "intake_cost_")
    settings, db = w.settings, w.db
    corpus = load_corpus(max(args.n, 1000))[: args.n]
    w.commit([(sender, raw, "palaute@hel.example") for sender, raw in corpus])
    t = time.process_time()
    for sender, raw in corpus:
        parse(raw, mail_from=sender)
    parse_ms = (time.process_time() - t) / args.n * 1000

    async def stages() -> dict[str, float]:
        daemon = w.daemon
        costs: dict[str, float] = {}
        for name, step in (
            ("intake", lambda: daemon.intake.run_once_async(settings.intake_batch)),
            ("outbox", daemon.outbox.run_once),
            ("deadlines", daemon.deadlines.run_once),
        ):
            t0 = time.process_time()
            while await step():
                pass
            costs[name] = (time.process_time() - t0) / args.n * 1000
        return costs

    costs = asyncio.run(stages())
    db.dispose()
    print(
        f"{settings.database_url.split(':')[0]}, {args.n} messages, ms of CPU per message: "
        f"parse alone {parse_ms:.2f} | intake (parse included) {costs['intake']:.2f} | "
        f"outbox {costs['outbox']:.2f} | deadline planning {costs['deadlines']:.2f} | "
        f"worker total {sum(costs.values()):.2f}"
    )


if __name__ == "__main__":
    main()
