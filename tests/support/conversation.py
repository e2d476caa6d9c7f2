"""Helpers for conversation and loop tests: staff replies, bounces, a second database and an SMTP sink that
can answer what it receives, like a mailbox with an autoresponder."""

from __future__ import annotations

import contextlib
import email
import queue
import shutil
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage, Message
from email.policy import default
from email.utils import make_msgid
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.mail import make_mail, outbox_mail
from tests.support.process import free_port

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"


def envelope_to(msg: Message) -> str:
    """The recipient of a message the maildir transport wrote (its X-Envelope-To line)."""
    return str(msg["X-Envelope-To"]).strip("<> ")


def mail_to(maildir: Path, address: str) -> list[Message]:
    """Every delivered message whose envelope recipient is *address*, oldest first."""
    return [m for m in outbox_mail(maildir) if envelope_to(m) == address.lower()]


def text_of(msg: Message) -> str:
    """The plain-text body with Unix line ends."""
    text: str = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return text.replace("\r\n", "\n")


def readable(msg: Message) -> str:
    """Every header decoded, the plain body and the raw message: what a reader of *msg* could see."""
    heads = "\n".join(f"{name}: {value}" for name, value in msg.items())
    return f"{heads}\n\n{text_of(msg)}\n\n{msg.as_string()}"


def reply_address_of(msg: Message) -> str:
    return str(msg["Reply-To"].addresses[0].addr_spec)


def reply(
    to_msg: Message,
    sender: str,
    body: str,
    *,
    to: str | None = None,
    quote: bool = True,
    subject: str | None = None,
    **headers: str,
) -> EmailMessage:
    """A person's reply to *to_msg*: to its Reply-To (else its From), threaded, with the quoted original
    below an attribution line, the way mail programs write it."""
    target = to or (reply_address_of(to_msg) if to_msg["Reply-To"] else to_msg["From"].addresses[0].addr_spec)
    if quote:
        quoted = "\n".join("> " + line for line in text_of(to_msg).splitlines())
        body = f"{body}\n\n{to_msg['Date']} {to_msg['From']} kirjoitti:\n{quoted}\n"
    return make_mail(
        sender=sender,
        to=target,
        subject=subject or "RE: " + str(to_msg["Subject"]),
        body=body,
        In_Reply_To=str(to_msg["Message-ID"]),
        References=str(to_msg["Message-ID"]),
        **headers,
    )


def dsn(returned: Message, final_recipient: str) -> bytes:
    """A delivery status notification (RFC 3464) returning the headers of *returned*."""
    returned_headers = bytes(returned).replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode()
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.fi>\r\n"
        "To: palaute@hel.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.fi')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        f"--b1\r\nContent-Type: text/plain\r\n\r\n<{final_recipient}>: mailbox unavailable\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.fi\r\n\r\n"
        f"Final-Recipient: rfc822; {final_recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n{returned_headers}\r\n"
        "--b1--\r\n"
    ).encode()


def envelope_from(msg: Message) -> str:
    """The reverse-path a delivered message went out with (its X-Envelope-From line): for our staff mail
    and answers, the signed bounce address of its outbox row."""
    return str(msg["X-Envelope-From"]).strip("<> ")


def send_bounce(
    port: int, returned: Message, final_recipient: str, *, to: str | None = None, mail_from: str = ""
) -> None:
    """A real bounce: the null reverse-path, to the returned mail's own signed bounce address."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(mail_from, [to or envelope_from(returned)], dsn(returned, final_recipient))


def city_config(tmp_path: Path, name: str = "config", **replace: str) -> Path:
    """A copy of the test city's configuration with text replacements (old=new pairs in *replace*)."""
    config = tmp_path / name
    shutil.copytree(FIXTURE_CONFIG, config)
    for file in config.glob("*.yaml"):
        text = file.read_text()
        for old, new in replace.items():
            text = text.replace(old, new)
        file.write_text(text)
    return config


@contextlib.contextmanager
def another_database(database_url: str, tmp_path: Path, admin_url: str) -> Iterator[str]:
    """A second empty database on the same engine as *database_url*: for a second, independent gateway."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/other-{uuid.uuid4().hex[:6]}.db"
        return
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


Responder = Callable[[Message, str], EmailMessage | None]


class MailSink:
    """An SMTP server that keeps every message, and answers some of them through *respond* (given the
    message and its envelope recipient; it returns the answer or None), sent to the gateway at *port*.

    At most *max_answers* answers are sent: an exchange that does not stop ends the test, not the machine.
    """

    def __init__(
        self,
        respond: Responder | None = None,
        max_answers: int = 30,
        before_accept: Callable[[Message, str], None] | None = None,
    ) -> None:
        """*before_accept* runs for each recipient before the sink answers 250: the sender waits."""
        self._before_accept = before_accept
        self.received: list[tuple[str, Message]] = []
        self.envelope_senders: list[str] = []  # MAIL FROM of each message, "" for the null sender
        self.answers = 0
        self.failures: list[str] = []  # answers the gateway refused or that could not be sent
        self.max_answers = max_answers
        self.gateway_port: int | None = None
        self._respond = respond
        self._queue: queue.Queue[EmailMessage | None] = queue.Queue()
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, server_hostname="sink.test")
        self._sender = threading.Thread(target=self._send_answers, name="sink-answers", daemon=True)

    def start(self) -> MailSink:
        self._controller.start()
        self._sender.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        self._queue.task_done()  # the stop mark is no answer
        self._sender.join(10)
        self._controller.stop()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(bytes(raw), policy=default)
        msg["X-Envelope-From"] = f"<{envelope.mail_from or ''}>"  # as the maildir transport writes it
        if self._before_accept is not None:
            for rcpt in envelope.rcpt_tos:
                self._before_accept(msg, rcpt.lower())
        with self._lock:
            self.envelope_senders.append(envelope.mail_from or "")
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt.lower(), msg))
                answer = self._respond(msg, rcpt.lower()) if self._respond else None
                if answer is not None and self.answers < self.max_answers:
                    self.answers += 1
                    self._queue.put(answer)
        return "250 OK"

    def _send_answers(self) -> None:
        while (answer := self._queue.get()) is not None:
            try:
                self._send_one(answer)
            finally:
                self._queue.task_done()

    def _send_one(self, answer: EmailMessage) -> None:
        """Deliver one answer to the gateway. A refusal is recorded in `failures`, loudly: a loop test
        must not pass because the gateway refused the mail instead of stopping the exchange (issue 15)."""
        assert self.gateway_port is not None
        last: Exception | None = None
        for _ in range(50):  # the gateway may be starting: a refused connection is retried
            try:
                with smtplib.SMTP("127.0.0.1", self.gateway_port, timeout=10) as client:
                    refused = client.send_message(answer)
                if refused:
                    self.failures.append(f"{answer['Subject']}: recipients refused {refused}")
                return
            except smtplib.SMTPException as exc:  # an SMTP answer other than 250: a refusal
                self.failures.append(f"{answer['Subject']}: {type(exc).__name__}: {exc}")
                return
            except OSError as exc:
                last = exc
                time.sleep(0.1)
        self.failures.append(f"{answer['Subject']}: could not connect: {last}")

    def idle(self) -> bool:
        """Every answer the sink owed has been sent (or its failure recorded)."""
        return self._queue.unfinished_tasks == 0

    def to(self, address: str) -> list[Message]:
        """What arrived for *address*, oldest first."""
        with self._lock:
            return [m for rcpt, m in self.received if rcpt == address.lower()]

    def count(self) -> int:
        with self._lock:
            return len(self.received)


def stable(read: Callable[[], object], seconds: float = 1.2, timeout: float = 30.0) -> object:
    """Wait until *read()* returns the same value for *seconds*; return that value."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        fresh = read()
        if fresh != value:
            value, since = fresh, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return value
    raise AssertionError(f"still changing after {timeout} s: {value!r}")
