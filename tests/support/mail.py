"""Sending test mail with smtplib and reading what the gateway wrote: cases, events and the outbox maildir."""

from __future__ import annotations

import email
import smtplib
from email.message import EmailMessage, Message
from email.policy import default
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from gateway.model import Case
from gateway.store.db import Database
from gateway.store.tables import case_events, cases, outbox, receipts


def make_mail(
    sender: str = "Matti Meikäläinen <matti@example.fi>",
    to: str = "palaute@hel.example",
    subject: str = "Lunta kadulla",
    body: str = "Kadulla on puoli metriä lunta eikä sitä ole aurattu. Voisitteko hoitaa asian pian?",
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.fi")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def send(port: int, msg: EmailMessage, rcpt: str | None = None, mail_from: str | None = None) -> Any:
    """Send *msg* with smtplib; return the refused-recipients dict (empty when all were accepted)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.send_message(
            msg,
            from_addr=mail_from,
            to_addrs=[rcpt] if rcpt else None,
        )


def outbox_mail(maildir: Path) -> list[Message]:
    """Every message the gateway delivered into its outbox maildir, oldest first."""
    files = sorted((maildir / "new").glob("*")) if (maildir / "new").exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]


def receipt_mail(maildir: Path) -> list[Message]:
    """The receipts to residents among the delivered mail (automatic answers, RFC 3834 auto-replied)."""
    return [m for m in outbox_mail(maildir) if m["Auto-Submitted"] == "auto-replied"]


def forward_mail(maildir: Path) -> list[Message]:
    """The hand-overs of cases to departments among the delivered mail."""
    return [m for m in outbox_mail(maildir) if m["Auto-Submitted"] == "auto-generated"]


def count(db: Database, table: Any, *where: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def all_cases(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(cases).order_by(cases.c.id)).all())


def events_of(db: Database, case_id: int) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.id)
            )
        )


def settled(db: Database) -> bool:
    """No receipt is waiting for intake and no mail is waiting to be delivered."""
    return (
        count(db, receipts, receipts.c.state == "pending") == 0
        and count(db, outbox, outbox.c.state == "pending") == 0
    )


__all__ = [
    "all_cases",
    "count",
    "events_of",
    "forward_mail",
    "make_mail",
    "outbox_mail",
    "receipt_mail",
    "send",
    "settled",
]


def stored_case(conn: Connection, **columns: object) -> Case:
    """A case row with exactly *columns*, read back: for a shape that intake would not make (a due time
    without a decision, a status set by hand)."""
    from gateway.store import cases as case_store

    found = case_store.get_case(conn, case_id=case_store.insert_case(conn, **columns))
    assert found is not None
    return found
