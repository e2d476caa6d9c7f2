#!/usr/bin/env python3
"""Conversation mix through the worker stages: new cases, then residents' follow-ups, staff answers through
the signed reply address, and automatic mail (out-of-office) on those cases, in one batch.

Measures messages per second from committed receipts to settled cases and delivered mail (intake and
outbox, as a worker process runs them), per phase, and checks every message became what it should.

    .venv/bin/python bench/conversation_mix.py [--n 1000] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smtp_throughput import load_corpus
from worker_env import worker


def _reply(sender: str, to: str, subject: str, body: str, parent: str | None, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = make_msgid(domain="bench.example")
    if parent:
        msg["In-Reply-To"] = msg["References"] = f"<{parent}>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="new cases; the mix adds about as many replies")
    ap.add_argument("--db", help="a database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    from sqlalchemy import select

    from gateway.store.tables import cases, outbox, receipts

    w = worker(args.db, "mix_")
    settings, db, daemon, commit = w.settings, w.db, w.daemon, w.commit

    async def drain() -> float:
        t0 = time.perf_counter()
        while await daemon.intake.run_once_async(settings.intake_batch) or await daemon.outbox.run_once():
            pass
        return time.perf_counter() - t0

    corpus = load_corpus(max(args.n, 1000))[: args.n]
    commit([(sender, raw, "palaute@hel.example") for sender, raw in corpus])
    loop = asyncio.new_event_loop()  # one loop for both phases: the workers' primitives bind to it
    new_s = loop.run_until_complete(drain())

    with db.read() as conn:
        opened = conn.execute(
            select(cases.c.code, cases.c.resident_email, cases.c.decision, outbox.c.message_id).join(
                outbox, (outbox.c.case_id == cases.c.id) & (outbox.c.kind == "receipt")
            )
        ).all()
    rng = random.Random(1)
    mix: list[tuple[str, bytes, str]] = []
    expected: Counter[str] = Counter()
    for code, resident, decision, receipt_id in opened:
        roll = rng.random()
        if roll < 0.35:
            body = "Lisäys: tilanne on ennallaan, ja nyt myös katuvalo on rikki."
            mix.append(
                (
                    resident,
                    _reply(resident, "palaute@hel.example", f"Re: [{code}]", body, receipt_id),
                    "palaute@hel.example",
                )
            )
            expected["follow-up"] += 1
        elif roll < 0.75 and decision and decision.get("contact"):
            handler = decision["contact"]
            address = daemon.intake._planner.reply_address(code, decision["department"])
            body = (
                "Kiitos palautteesta. Asia korjataan tällä viikolla.\n\nYstävällisin terveisin\nTyönjohtaja"
            )
            mix.append((handler, _reply(handler, address, f"Re: [{code}] palaute", body, None), address))
            expected["answer"] += 1
        elif roll < 0.95:
            body = "Olen lomalla 1.12. asti."
            raw = _reply(
                resident,
                "palaute@hel.example",
                f"Automaattinen vastaus: [{code}]",
                body,
                receipt_id,
                Auto_Submitted="auto-replied",
            )
            mix.append((resident, raw, "palaute@hel.example"))
            expected["automatic"] += 1
    rng.shuffle(mix)
    commit(mix)
    mix_s = loop.run_until_complete(drain())
    loop.close()
    with db.read() as conn:
        got = Counter(
            r.outcome for r in conn.execute(select(receipts.c.outcome).where(receipts.c.id > len(corpus)))
        )
    db.dispose()
    ok = all(got[k] == v for k, v in expected.items())
    engine = settings.database_url.split(":")[0]
    print(f"{engine}: {len(corpus)} new messages in {new_s:.1f} s = {len(corpus) / new_s:.0f}/s")
    print(f"  mix of {len(mix)} {dict(expected)} in {mix_s:.1f} s = {len(mix) / mix_s:.0f}/s")
    print(f"  outcomes {dict(got)}; as expected: {ok}")


if __name__ == "__main__":
    main()
