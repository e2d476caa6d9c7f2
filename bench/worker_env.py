"""A worker process's parts in this process, for the benchmarks that measure intake without SMTP."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from smtp_throughput import config_dir

from gateway.rules.live import LiveConfig, read_config
from gateway.runtime.build import Gateway
from gateway.runtime.logs import configure_logging
from gateway.settings import Settings, load_settings
from gateway.store import migrate
from gateway.store.db import Database, make_engine
from gateway.store.receipts import NewReceipt, insert_receipts


@dataclass
class Worker:
    settings: Settings
    db: Database
    daemon: Gateway  # the parts a worker process runs, built by the composition root

    def commit(self, mails: list[tuple[str, bytes, str]]) -> None:
        """Commit (envelope sender, raw bytes, envelope recipient) as receipts, as the SMTP channel would."""
        with self.db.write() as conn:
            items = [NewReceipt("smtp", raw, sender, (rcpt,), "127.0.0.1") for sender, raw, rcpt in mails]
            insert_receipts(conn, items, datetime.now(UTC))


def worker(db_url: str | None, prefix: str) -> Worker:
    """A fresh database (SQLite in a temporary folder unless *db_url*), the shipped configuration, quiet
    logs, no receipt rate limit (the corpus repeats senders), parsing in this process, and a daemon in the
    worker role."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    cfg, _ = config_dir()
    os.environ.update(
        GATEWAY_DATABASE_URL=db_url or f"sqlite:///{work}/gw.db",
        GATEWAY_CONFIG_DIR=str(cfg),
        GATEWAY_OUTBOX_MAILDIR=str(work / "outbox"),
        GATEWAY_LOG_LEVEL="WARNING",
        GATEWAY_REPLY_SECRET="bench-secret-of-32-bytes-or-more-0123456789",
        GATEWAY_NOTICES_PER_RECIPIENT_PER_HOUR="1000000",
        # one client, sessions of thousands of mails, every case a new sender or not: the SMTP abuse limits
        # and the new-case limits (decisions 0025, 0022b) would cut the run or drop its receipts
        GATEWAY_SMTP_MAX_CONNECTIONS_PER_CLIENT="100000",
        GATEWAY_SMTP_SESSION_SECONDS="86400",
        GATEWAY_SMTP_MESSAGES_PER_SESSION="100000000",
        GATEWAY_NEW_CASES_PER_SENDER_PER_HOUR="0",
        GATEWAY_NEW_CASES_PER_CLIENT_PER_HOUR="0",
    )
    # These benchmarks count the CPU of this one process: parse here, not in parser processes.
    os.environ.setdefault("GATEWAY_INTAKE_PARSERS", "0")
    settings = load_settings()
    configure_logging("WARNING", "json")
    db = Database(make_engine(settings.database_url))
    migrate.upgrade(db)
    return Worker(settings, db, Gateway(settings, LiveConfig(settings, read_config(settings)), db))
