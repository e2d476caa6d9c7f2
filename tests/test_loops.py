"""No loops, no storms (issue 4): two gateways against each other, an out-of-office against our receipt, and
autoresponders that do not mark their mail against the rate limits. Every exchange must stop by itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage, Message
from pathlib import Path

import pytest

from gateway.notifier.reply_address import reply_address
from gateway.store.tables import case_events, cases, outbox, receipts
from tests.conftest import PG_ADMIN_URL
from tests.support.conversation import (
    MailSink,
    Responder,
    another_database,
    city_config,
    stable,
)
from tests.support.daemon import TEST_SECRET, RunningDaemon, make_settings, wait_for
from tests.support.mail import all_cases, count, events_of, make_mail, send, settled
from tests.support.process import free_port

HANDLER = "talvi@urakoitsija.example"


@pytest.fixture
def sinks() -> Iterator[Callable[..., MailSink]]:
    started: list[MailSink] = []

    def start(respond: Responder | None = None, max_answers: int = 30) -> MailSink:
        sink = MailSink(respond, max_answers).start()
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.stop()
    for sink in started:  # every answer the sink sent was taken: a refusal is no stopped loop
        assert sink.failures == [], sink.failures


def _relaying_gateway(
    start_gateway: Callable[..., RunningDaemon], sink: MailSink, **settings: object
) -> RunningDaemon:
    gateway = start_gateway(outbound_host="127.0.0.1", outbound_port=sink.port, **settings)
    sink.gateway_port = gateway.port
    return gateway


def _answer_to(msg: Message) -> str:
    return str((msg["Reply-To"] or msg["From"]).addresses[0].addr_spec)


def _settle(gateway: RunningDaemon, sink: MailSink | None = None, timeout: float = 60.0) -> None:
    """Wait until nothing is on its way: no receipt waiting for intake, no mail pending in the outbox
    (a retry backing off for 30 s is still pending), and no answer the sink still owes. Checked twice in a
    row, sink first: an answer is queued before the sink's 250 marks the outbox row sent."""

    def quiet() -> bool:
        return (sink is None or sink.idle()) and settled(gateway.db) and (sink is None or sink.idle())

    wait_for(lambda: quiet() and quiet(), timeout, what="the exchange to settle")


def _counts(gateway: RunningDaemon) -> tuple[int, int, int]:
    return count(gateway.db, receipts), count(gateway.db, cases), count(gateway.db, outbox)


def test_two_gateways_do_not_answer_each_others_mail(
    start_gateway: Callable[..., RunningDaemon], tmp_path: Path, database_url: str
) -> None:
    port_a, port_b = free_port(), free_port()
    espoo = city_config(
        tmp_path,
        "espoo",
        **{"addresses: [palaute@hel.example, feedback@hel.example, respons@hel.example]":
           "addresses: [palaute@espoo.example]"},
    )  # fmt: skip
    relay_to = {"outbound_host": "127.0.0.1", "outbox_max_attempts": 1}
    with another_database(database_url, tmp_path, PG_ADMIN_URL) as url_b:
        settings_b = make_settings(
            tmp_path / "espoo-run", url_b, config_dir=espoo, smtp_port=port_b, outbound_port=port_a,
            code_prefix="ESP", sender_name="Espoon kaupunki", **relay_to,
        )  # fmt: skip
        b = RunningDaemon(settings_b).start()
        try:
            a = start_gateway(smtp_port=port_a, outbound_port=port_b, **relay_to)
            send(a.port, make_mail(sender="Espoon kaupunki <palaute@espoo.example>", subject="Lunta rajalla"))
            wait_for(lambda: count(b.db, receipts) >= 1, what="A's receipt to arrive at B")
            both = stable(lambda: (_counts(a), _counts(b)))
            assert both == ((1, 1, 2), (1, 0, 0)), both  # one case at A; B took A's receipt and said nothing
            with a.db.read() as conn:
                sent = dict(
                    conn.execute(outbox.select().with_only_columns(outbox.c.kind, outbox.c.state)).all()
                )
            assert sent == {"receipt": "sent", "forward": "parked"}  # B refuses to relay to the contractor
            with b.db.read() as conn:
                [outcome] = conn.execute(receipts.select().with_only_columns(receipts.c.outcome)).scalars()
            assert outcome == "automatic"

            # The handler answers at A: a relayed answer is not automatic mail, so B takes it for new
            # feedback and sends its receipt back; A keeps that receipt on the case and answers nothing.
            [case] = all_cases(a.db)
            signed = reply_address("palaute@hel.example", case.code, case.department or "", TEST_SECRET)
            send(a.port, make_mail(sender=HANDLER, to=signed, body="Aurataan tänään."), rcpt=signed)
            wait_for(lambda: count(a.db, receipts) == 3, what="B's receipt of the answer to come back to A")
            both = stable(lambda: (_counts(a), _counts(b)))
            assert both == ((3, 1, 3), (2, 1, 2)), both
            assert [e.kind for e in events_of(a.db, case.id)][-2:] == ["answer", "automatic"]
        finally:
            b.stop()


def test_a_receipt_goes_out_through_the_relay_with_a_null_sender(
    start_gateway: Callable[..., RunningDaemon], sinks: Callable[..., MailSink]
) -> None:
    sink = sinks()
    gateway = _relaying_gateway(start_gateway, sink, outbox_max_attempts=1)
    send(gateway.port, make_mail())
    wait_for(lambda: count(gateway.db, outbox) == 2 and settled(gateway.db), what="both deliveries tried")
    assert sink.count() == 2, "the receipt did not reach the relay"
    # The receipt goes out with the null reverse-path (aiosmtpd records MAIL FROM:<> as "<>").
    # The hand-over goes with its signed bounce address (issue 15: forged bounces), the relay's way too.
    null, signed = sorted(sink.envelope_senders)
    assert null == "<>" and signed.startswith("palaute+bounce-") and signed.endswith("@hel.example")


def _out_of_office(msg: Message, rcpt: str) -> EmailMessage:
    """What a well-behaved vacation responder sends: marked (RFC 3834) and threaded, to every message."""
    return make_mail(
        sender=rcpt,
        to=_answer_to(msg),
        subject="Automaattinen vastaus: " + str(msg["Subject"]),
        body="Olen lomalla 6.1. asti. Kiireellisissä asioissa soita vaihteeseen.",
        In_Reply_To=str(msg["Message-ID"]),
        Auto_Submitted="auto-replied",
    )


def test_an_out_of_office_against_our_receipt_stops(
    start_gateway: Callable[..., RunningDaemon], sinks: Callable[..., MailSink]
) -> None:
    sink = sinks(_out_of_office)  # the resident and the handler are both away
    gateway = _relaying_gateway(start_gateway, sink)
    send(gateway.port, make_mail(sender="lomalla@example.fi"))
    wait_for(lambda: sink.answers == 2, what="both out-of-office replies")
    _settle(gateway, sink)
    assert (sink.count(), sink.answers, *_counts(gateway)) == (2, 2, 3, 1, 2)
    with gateway.db.read() as conn:
        kinds = list(conn.execute(case_events.select().with_only_columns(case_events.c.kind)).scalars())
    assert kinds.count("automatic") == 2  # both stored on the case, neither answered
    assert [len(sink.to(a)) for a in ("lomalla@example.fi", HANDLER)] == [1, 1]


def _naive(only: str, threaded: bool) -> Responder:
    """An autoresponder that does not mark its mail (no Auto-Submitted, an ordinary subject)."""

    def respond(msg: Message, rcpt: str) -> EmailMessage | None:
        if rcpt != only:
            return None
        if not threaded:
            return make_mail(sender=rcpt, to=_answer_to(msg), subject="Kiitos viestistäsi",
                             body="Kiitos viestistäsi! Vastaamme sinulle mahdollisimman pian.")  # fmt: skip
        return make_mail(
            sender=rcpt,
            to=_answer_to(msg),
            subject="Re: " + str(msg["Subject"]),
            body="Kiitos viestistäsi! Vastaamme sinulle mahdollisimman pian.",
            In_Reply_To=str(msg["Message-ID"]),
            References=str(msg["Message-ID"]),
        )

    return respond


def test_a_naive_autoresponder_is_stopped_by_the_rate_limit(
    start_gateway: Callable[..., RunningDaemon], sinks: Callable[..., MailSink]
) -> None:
    sink = sinks(_naive("robotti@example.fi", threaded=False))
    gateway = _relaying_gateway(start_gateway, sink, notices_per_recipient_per_hour=3)
    send(gateway.port, make_mail(sender="robotti@example.fi"))
    wait_for(lambda: sink.answers == 3, what="three rounds")
    _settle(gateway, sink)
    # Each unthreaded answer is new feedback, but only three receipts an hour go to one address.
    assert (len(sink.to("robotti@example.fi")), sink.answers, count(gateway.db, cases)) == (3, 3, 4)


def test_a_naive_autoresponder_that_threads_becomes_one_follow_up(
    start_gateway: Callable[..., RunningDaemon], sinks: Callable[..., MailSink]
) -> None:
    sink = sinks(_naive("robotti@example.fi", threaded=True))
    gateway = _relaying_gateway(start_gateway, sink)
    send(gateway.port, make_mail(sender="robotti@example.fi"))
    wait_for(lambda: sink.answers == 1, what="the autoresponder's answer")
    _settle(gateway, sink)
    assert (sink.answers, count(gateway.db, cases)) == (1, 1)
    assert count(gateway.db, case_events, case_events.c.kind == "follow-up") == 1
    assert len(sink.to(HANDLER)) == 2  # the forward and the follow-up; no second receipt


def test_naive_autoresponders_on_both_sides_are_stopped(
    start_gateway: Callable[..., RunningDaemon], sinks: Callable[..., MailSink]
) -> None:
    resident, handler = _naive("robotti@example.fi", threaded=True), _naive(HANDLER, threaded=True)
    sink = sinks(lambda msg, rcpt: resident(msg, rcpt) or handler(msg, rcpt), max_answers=10)
    # The limit that stops this exchange, set here rather than taken from the default (issue 15).
    gateway = _relaying_gateway(start_gateway, sink, relays_per_case_per_hour=2)
    send(gateway.port, make_mail(sender="robotti@example.fi"))
    _settle(gateway, sink)
    assert sink.answers < 10  # the sink gives up at 10; the gateway should have stopped the exchange first
    with gateway.db.read() as conn:
        kinds = sorted(conn.execute(outbox.select().with_only_columns(outbox.c.kind)).scalars())
    # The receipt and forward; then the resident's robot answers the receipt (a follow-up, relayed) and
    # the handler's robot the forward and the follow-up (answers, relayed) until two relays are made.
    assert kinds.count("answer") + kinds.count("follow-up") == 2, kinds
    assert (count(gateway.db, cases), kinds.count("receipt"), kinds.count("forward")) == (1, 1, 1)
    assert sink.count() == len(kinds)  # every mail queued was delivered, none twice
