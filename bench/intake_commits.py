#!/usr/bin/env python3
"""Intake's database commits in one round, counted against what decisions 0015 and 0016 expect.

    .venv/bin/python bench/intake_commits.py [--db sqlite|postgres]

Issue 16 moved these counts out of tests/test_intake.py, which keeps what they also checked of behaviour
(every healthy message gets its case, a poison message alone is parked). Each situation gets a fresh
database (SQLite in a temporary folder, or a throwaway PostgreSQL database), its receipts committed as the
SMTP channel would, and one `Intake.run_once` of a worker daemon in this process; every COMMIT on the
engine from then on is counted. A round always begins with its claim: a write and a read transaction.

- steps-aside: four new-feedback receipts, all the time in the world to commit (intake_commit_ms 10 s),
  and the receipt writer's sign up (0015): on SQLite intake commits after each message, 2 + 4; PostgreSQL
  has no sign and settles the round in one transaction, 2 + 1.
- poison, commit 0 ms: five receipts, the third of which the parser chokes on. Each healthy message before
  it is committed on its own (the transaction has been open long enough), then the round's transaction
  fails at the poison one and the one-at-a-time fallback (0016) settles the rest in one more: 2 + 2 + 1.
- poison, commit 10 s: the round's one transaction fails at the poison message and is rolled back; only
  the fallback commits: 2 + 1.

Prints each count beside the expected one and exits 1 when any differs (or when a message did not end as
expected: four cases and one parked receipt for the poison rounds).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from worker_env import Worker, worker

from gateway.intake import parsers as parsers_module
from gateway.mail import parse
from gateway.model import InboundMessage
from gateway.store.tables import cases, receipts

PG_ADMIN = os.environ.get("GATEWAY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CITY = "palaute@hel.example"
CLAIM = 2  # claim_pending: a write transaction and a read transaction


@dataclass(frozen=True)
class Situation:
    name: str
    commit_ms: float
    mails: int
    poison: int | None  # the index of the message the parser chokes on
    sign_up: bool  # the receipt writer's sign (decision 0015) raised for the whole round
    expected: Callable[[str], int]  # commits by dialect
    why: str


SITUATIONS = [
    Situation(
        "steps-aside",
        10_000.0,
        4,
        None,
        True,
        lambda dialect: CLAIM + (4 if dialect == "sqlite" else 1),
        "0015: a commit per message while the sign is up (SQLite); PostgreSQL has no sign: one",
    ),
    Situation(
        "poison, commit 0 ms",
        0.0,
        5,
        2,
        False,
        lambda dialect: CLAIM + 2 + 1,
        "each healthy message before the poison one alone, then the fallback (0016) once",
    ),
    Situation(
        "poison, commit 10 s",
        10_000.0,
        5,
        2,
        False,
        lambda dialect: CLAIM + 1,
        "the round's transaction rolled back at the poison message; the fallback (0016) once",
    ),
]


def _mail(i: int, poison: bool) -> tuple[str, bytes, str]:
    sender = f"asukas{i}@example.fi"
    msg = EmailMessage()
    msg["From"] = f"Asukas {i} <{sender}>"
    msg["To"] = CITY
    msg["Subject"] = "POISON" if poison else f"Kuoppa {i}"
    msg["Message-ID"] = make_msgid(domain="example.fi")
    msg.set_content(f"Kadulla on syvä kuoppa kohdassa {i}, ja se on vaarallinen pyöräilijöille.")
    return sender, msg.as_bytes(), CITY


def _fragile(raw: bytes, **kwargs: Any) -> InboundMessage:
    if b"POISON" in raw:
        raise ValueError("the parser choked")
    return parse(raw, **kwargs)


@contextmanager
def _fresh(kind: str, commit_ms: float) -> Iterator[Worker]:
    """A worker daemon on a fresh database, committing after *commit_ms*; the database removed after."""
    os.environ["GATEWAY_INTAKE_COMMIT_MS"] = str(commit_ms)
    name = f"bench_commits_{uuid.uuid4().hex[:8]}"
    url = None
    if kind == "postgres":
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    w = worker(url, name + "_")
    try:
        yield w
    finally:
        w.db.dispose()
        if kind == "postgres":
            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            shutil.rmtree(Path(w.settings.database_url.removeprefix("sqlite:///")).parent, ignore_errors=True)


def run(kind: str, situation: Situation) -> bool:
    with _fresh(kind, situation.commit_ms) as w:
        w.commit([_mail(i, i == situation.poison) for i in range(situation.mails)])
        committed: list[object] = []
        event.listen(w.db.engine, "commit", committed.append)
        parsers_module.parse = _fragile  # type: ignore[assignment]  # in-process parsing (worker_env)
        try:
            if situation.sign_up:
                w.db.turns.raise_()
            claimed = w.daemon.intake.run_once(16)
        finally:
            w.db.turns.lower()
            parsers_module.parse = parse
        commits = len(committed)
        with w.db.read() as conn:
            opened = conn.execute(select(func.count()).select_from(cases)).scalar_one()
            parked = conn.execute(
                select(func.count()).select_from(receipts).where(receipts.c.state == "parked")
            ).scalar_one()
        dialect = w.db.dialect
    expected = situation.expected(dialect)
    poisoned = situation.poison is not None
    ended_well = claimed == situation.mails and opened == situation.mails - poisoned and parked == poisoned
    ok = commits == expected and ended_well
    print(
        f"{dialect:10} {situation.name:20} commits {commits:2} expected {expected:2} "
        f"| cases {opened} parked {parked} | {'ok' if ok else 'DIFFERS'}: {situation.why}"
    )
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = ap.parse_args()
    results = [run(args.db, situation) for situation in SITUATIONS]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
