"""Conversations by email (issue 4): staff answers through the signed address, replies that are not answers,
reroute by mail, resident follow-ups, redaction, Cc, bounces and unreachable addresses, the loop marker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage, Message
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from gateway.notifier.compose import is_our_loop_marker
from gateway.notifier.reply_address import verified_code
from gateway.runtime.build import identity_for
from gateway.store.tables import attachments, cases, outbox, receipts
from tests.support.conversation import (
    MailSink,
    city_config,
    mail_to,
    readable,
    reply,
    reply_address_of,
    send_bounce,
    text_of,
)
from tests.support.daemon import TEST_SECRET, RunningDaemon, wait_for
from tests.support.mail import all_cases, count, events_of, make_mail, outbox_mail, send, settled

RESIDENT = "matti@example.fi"
HANDLER = "talvi@urakoitsija.example"
HANDLER_FROM = f"Pekka Virtanen <{HANDLER}>"
ANSWER = "Katu aurataan tänään kello 18 mennessä. Pahoittelemme viivettä."
SIGNED_OFF = (
    f"{ANSWER}\n\nTerveisin\nPekka Virtanen\nTyönjohtaja, Talvi Oy, {HANDLER}\n"
    f"-- \nPekka Virtanen | puh. 040 123 4567 | {HANDLER}"
)
ESCALATION = "paivystys@hel.example"
NOT_STAFF = "neither a contact of the department nor at a staff domain"


def _open(gateway: RunningDaemon, msg: EmailMessage | None = None) -> tuple[Any, EmailMessage, Message]:
    """Send a resident's mail; return the case, what was sent, and the forward to the handler."""
    msg = msg or make_mail()
    send(gateway.port, msg)
    [forward] = wait_for(lambda: mail_to(gateway.maildir, HANDLER), what="the forward")
    wait_for(lambda: mail_to(gateway.maildir, RESIDENT), what="the receipt")
    [case] = all_cases(gateway.db)
    wait_for(lambda: settled(gateway.db), what="the deliveries to be recorded")
    return case, msg, forward


def _status(gateway: RunningDaemon, case_id: int) -> str:
    return str(next(c.status for c in all_cases(gateway.db) if c.id == case_id))


def _kinds(gateway: RunningDaemon, case_id: int) -> list[str]:
    return [e.kind for e in events_of(gateway.db, case_id)]


def _with_file(
    msg: EmailMessage, name: str = "aurauskartta.pdf", data: bytes = b"%PDF-1.4 kartta"
) -> EmailMessage:
    maintype, _, subtype = ("application/pdf" if name.endswith(".pdf") else "image/png").partition("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


# -- staff answers ------------------------------------------------------------------------------


def test_a_handlers_reply_is_relayed_to_the_resident_under_the_citys_name(gateway: RunningDaemon) -> None:
    case, original, forward = _open(gateway)
    signed = reply_address_of(forward)
    send(gateway.port, _with_file(reply(forward, HANDLER_FROM, SIGNED_OFF)), rcpt=signed)
    answer = wait_for(lambda: [m for m in mail_to(gateway.maildir, RESIDENT) if "vastannut" in text_of(m)])[0]

    assert _status(gateway, case.id) == "answered"
    event = events_of(gateway.db, case.id)[-1]
    assert (event.kind, event.actor, event.data["relayed"]) == ("answer", HANDLER, True)
    assert event.text.startswith(ANSWER) and len(event.text) < len(ANSWER) + 20  # at most a bare "Terveisin"
    assert ">" not in event.text and "Pekka" not in event.text and HANDLER not in event.text
    assert count(gateway.db, attachments, attachments.c.event_id == event.id) == 1

    assert answer["From"].addresses[0].addr_spec == "palaute@hel.example"
    # The envelope sender is our address's signed bounce address for this mail (issue 15).
    assert str(answer["X-Envelope-From"]).startswith("<palaute+bounce-")
    assert [a.addr_spec for a in answer["To"].addresses] == [RESIDENT]
    assert answer["Cc"] is None and answer["Reply-To"] is None
    original_id = str(original["Message-ID"]).strip("<>")
    assert answer["In-Reply-To"] == f"<{original_id}>"
    assert f"<{original_id}>" in answer["References"]
    assert case.code in answer["Subject"] and "Lunta kadulla" in answer["Subject"]
    body = text_of(answer)
    assert body.startswith("Hei,\n") and "Helsingin kaupunki" in body.rsplit(ANSWER, 1)[1]
    assert ANSWER in body and "Talvikunnossapito" in body  # the department, not the person
    [kept] = list(answer.iter_attachments())
    assert kept.get_filename() == "aurauskartta.pdf" and kept.get_content() == b"%PDF-1.4 kartta"
    whole = readable(answer)
    for secret in ("Pekka", "Virtanen", "urakoitsija", "040 123", signed.partition("@")[0]):
        assert secret not in whole, secret


def test_a_second_reply_is_a_further_answer_in_the_residents_language(gateway: RunningDaemon) -> None:
    english = make_mail(
        sender="Jane Doe <jane@example.org>",
        subject="Snow on our street",
        body="There is half a metre of snow on our street and nobody has ploughed it. Could you please help?",
    )
    send(gateway.port, english)
    [forward] = wait_for(lambda: mail_to(gateway.maildir, HANDLER), what="the forward")
    [case] = all_cases(gateway.db)
    assert case.language == "en"
    signed = reply_address_of(forward)
    send(gateway.port, reply(forward, HANDLER_FROM, "Aurataan tänään."), rcpt=signed)
    wait_for(lambda: len(mail_to(gateway.maildir, "jane@example.org")) == 2, what="the first answer")
    send(gateway.port, reply(forward, HANDLER_FROM, "Nyt aurattu."), rcpt=signed)
    wait_for(lambda: len(mail_to(gateway.maildir, "jane@example.org")) == 3, what="the second answer")
    answers = mail_to(gateway.maildir, "jane@example.org")[1:]

    assert [e.text for e in events_of(gateway.db, case.id) if e.kind == "answer"] == [
        "Aurataan tänään.",
        "Nyt aurattu.",
    ]
    assert _status(gateway, case.id) == "answered" and count(gateway.db, cases) == 1
    for m, text in zip(answers, ("Aurataan tänään.", "Nyt aurattu."), strict=True):
        body = text_of(m)
        assert body.startswith("Hello,\n") and "has answered your feedback" in body and text in body
        assert "City of Helsinki" in body.rsplit(text, 1)[1] and case.code in m["Subject"]
    assert answers[0]["Message-ID"] != answers[1]["Message-ID"]


def test_an_outlook_signature_does_not_expose_the_officials_number(gateway: RunningDaemon) -> None:
    _, _, forward = _open(gateway)
    signature = (
        "Ystävällisin terveisin\n\nPekka Virtanen\nTyönjohtaja\n"
        "Mob. +358 40 123 4567\npekka.virtanen@urakoitsija.example"
    )
    send(
        gateway.port, reply(forward, HANDLER_FROM, f"{ANSWER}\n\n{signature}"), rcpt=reply_address_of(forward)
    )
    answer = wait_for(lambda: mail_to(gateway.maildir, RESIDENT)[1:], what="the answer")[0]
    assert ANSWER in text_of(answer)
    assert "123 4567" not in text_of(answer) and "pekka.virtanen" not in text_of(answer)


def test_a_handler_whose_name_is_a_common_word_keeps_their_answer(gateway: RunningDaemon) -> None:
    _, _, forward = _open(gateway)
    text = "Kivi on siirretty pois ajoradalta."
    send(gateway.port, reply(forward, f"Anna Kivi <{HANDLER}>", text), rcpt=reply_address_of(forward))
    answer = wait_for(lambda: mail_to(gateway.maildir, RESIDENT)[1:], what="the answer")[0]
    assert text in text_of(answer)


# -- replies that are not answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "address", "why"),
    [
        (HANDLER_FROM, "wrong-token", "a reply address with a wrong or outdated token (rerouted since?)"),
        (HANDLER_FROM, "no-token", "a handler without the signed reply address"),
        # a contractor's colleague: not a listed contact, and the contractor's domain is not the city's
        ("Kalle Kollega <kalle@urakoitsija.example>", "signed", NOT_STAFF),
        ("Outo <kalle@hel.example.evil.example>", "signed", NOT_STAFF),
    ],
)
def test_a_reply_that_is_not_a_valid_answer_is_kept_and_its_sender_told_once(
    gateway: RunningDaemon, sender: str, address: str, why: str
) -> None:
    case, _, forward = _open(gateway)
    signed = reply_address_of(forward)
    rcpt = {
        "signed": signed,
        "wrong-token": signed.partition("@")[0].rpartition(".")[0] + ".aaaaaaaaaaaaaaaa@hel.example",
        "no-token": "palaute@hel.example",
    }[address]
    assert address != "wrong-token" or (
        verified_code(rcpt, case.department or "", TEST_SECRET) is None and case.code.lower() in rcpt
    )
    who = sender.rpartition("<")[2].rstrip(">")
    for n in range(2):
        send(gateway.port, reply(forward, sender, f"Hoidetaan. ({n})", to=rcpt), rcpt=rcpt)
    wait_for(lambda: _kinds(gateway, case.id).count("unverified") == 2, what="two unverified replies")
    wait_for(lambda: settled(gateway.db), what="settling")

    unverified = [e for e in events_of(gateway.db, case.id) if e.kind == "unverified"]
    assert [(e.actor, e.data["why"], e.text) for e in unverified] == [
        (who, why, "Hoidetaan. (0)"),
        (who, why, "Hoidetaan. (1)"),
    ]
    assert _status(gateway, case.id) == "routed"
    assert len(mail_to(gateway.maildir, RESIDENT)) == 1  # the receipt; nothing was relayed
    [told] = mail_to(gateway.maildir, who)[1:] if who == HANDLER else mail_to(gateway.maildir, who)
    assert case.code in told["Subject"] and "Viestiäsi ei välitetty" in told["Subject"]
    assert told["Auto-Submitted"] == "auto-replied"


def test_a_forged_reply_address_tells_a_stranger_nothing_about_the_case(gateway: RunningDaemon) -> None:
    secret_subject = "Naapurini Liisa Mäkinen häiritsee"
    send(
        gateway.port,
        make_mail(subject=secret_subject, body="Naapuri kolistelee öisin, mitä voin tehdä asialle?"),
    )
    wait_for(lambda: mail_to(gateway.maildir, RESIDENT), what="the receipt")
    [case] = all_cases(gateway.db)
    forged = f"palaute+{case.code.lower()}.aaaaaaaaaaaaaaaa@hel.example"
    send(gateway.port, make_mail(sender="utelias@example.com", to=forged, body="Mikä tämä on?"), rcpt=forged)
    wait_for(lambda: settled(gateway.db) and "unverified" in _kinds(gateway, case.id), what="processing")
    to_stranger = mail_to(gateway.maildir, "utelias@example.com")
    assert len(to_stranger) == 1  # told how to answer, as any sender of an unverified reply is
    assert all("Mäkinen" not in str(m["Subject"]) + text_of(m) for m in to_stranger)


# -- reroute by mail ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["#reroute kirjaamo", "#siirrä Kirjaamo ei kuulu meille"])
def test_a_handler_sends_the_case_back_by_mail(gateway: RunningDaemon, command: str) -> None:
    case, _, forward = _open(gateway)
    send(
        gateway.port,
        reply(forward, HANDLER_FROM, f"{command}\n\nTerveisin Pekka"),
        rcpt=reply_address_of(forward),
    )
    [second] = wait_for(lambda: mail_to(gateway.maildir, "kirjaamo@hel.example"), what="the new forward")
    [case] = all_cases(gateway.db)
    assert case.department == "kirjaamo" and case.rule == "manual" and str(case.status) == "routed"
    rerouted = events_of(gateway.db, case.id)[-1]
    assert (rerouted.kind, rerouted.actor, rerouted.data["from"], rerouted.data["to"]) == (
        "rerouted", HANDLER, "talvi", "kirjaamo",
    )  # fmt: skip
    assert verified_code(reply_address_of(second), case.department or "", TEST_SECRET) == case.code
    wait_for(lambda: settled(gateway.db), what="settling")
    assert len(mail_to(gateway.maildir, RESIDENT)) == 1  # the command is not relayed as an answer
    assert "answer" not in _kinds(gateway, case.id)


def test_a_reroute_to_an_unknown_department_gets_a_clear_reply(gateway: RunningDaemon) -> None:
    case, _, forward = _open(gateway)
    send(gateway.port, reply(forward, HANDLER_FROM, "#siirrä hiekkalaatikko"), rcpt=reply_address_of(forward))
    refused = wait_for(lambda: mail_to(gateway.maildir, HANDLER)[1:], what="the refusal")
    [case] = all_cases(gateway.db)
    assert case.department == "talvi"
    assert events_of(gateway.db, case.id)[-1].kind == "note"
    [mail] = refused
    assert case.code in mail["Subject"] and "hiekkalaatikko" in mail["Subject"]
    assert "kirjaamo, pysakointi, talvi" in text_of(mail)
    assert verified_code(reply_address_of(mail), case.department or "", TEST_SECRET) == case.code
    wait_for(lambda: settled(gateway.db), what="settling")
    assert len(mail_to(gateway.maildir, RESIDENT)) == 1


# -- resident follow-ups ------------------------------------------------------------------------


def test_follow_ups_go_to_the_handler_and_reopen_an_answered_case(gateway: RunningDaemon) -> None:
    case, _, forward = _open(gateway)
    [receipt] = mail_to(gateway.maildir, RESIDENT)
    send(gateway.port, reply(receipt, "Matti Meikäläinen <matti@example.fi>", "Myös katuvalo on rikki."))
    [follow] = wait_for(lambda: mail_to(gateway.maildir, HANDLER)[1:], what="the follow-up to the handler")
    assert follow["In-Reply-To"] == forward["Message-ID"] and forward["Message-ID"] in follow["References"]
    assert verified_code(reply_address_of(follow), case.department or "", TEST_SECRET) == case.code
    assert "Myös katuvalo on rikki." in text_of(follow) and "kiitos palautteestasi" not in text_of(follow)
    assert RESIDENT not in readable(follow) and "Meikäläinen" not in readable(follow)

    # The handler answers the follow-up; the resident answers the answer: the case opens again.
    send(gateway.port, reply(follow, HANDLER_FROM, "Korjataan huomenna."), rcpt=reply_address_of(follow))
    answer = wait_for(lambda: mail_to(gateway.maildir, RESIDENT)[1:], what="the answer")[0]
    assert _status(gateway, case.id) == "answered"
    send(gateway.port, reply(answer, RESIDENT, "Valo on yhä rikki."))
    [again] = wait_for(lambda: mail_to(gateway.maildir, HANDLER)[2:], what="the second follow-up")
    assert _status(gateway, case.id) == "routed"
    assert "Valo on yhä rikki." in text_of(again)
    assert _kinds(gateway, case.id) == ["opened", "routed", "follow-up", "answer", "follow-up"]
    assert count(gateway.db, cases) == 1
    assert len(mail_to(gateway.maildir, RESIDENT)) == 2  # receipt and answer: follow-ups get no receipt


@pytest.mark.parametrize("how", ["reply to the answer", "reply to the forward", "code in the plus-address"])
def test_a_stranger_never_joins_a_case(gateway: RunningDaemon, how: str) -> None:
    case, _, forward = _open(gateway)
    send(gateway.port, reply(forward, HANDLER_FROM, "Hoidettu."), rcpt=reply_address_of(forward))
    answer = wait_for(lambda: mail_to(gateway.maildir, RESIDENT)[1:], what="the answer")[0]
    before = len(events_of(gateway.db, case.id))
    stranger = "Utelias <utelias@example.com>"
    if how == "reply to the answer":
        msg = reply(answer, stranger, "Minullakin on sama ongelma.", to="palaute@hel.example")
    elif how == "reply to the forward":
        msg = reply(forward, stranger, "Minullakin on sama ongelma.", to="palaute@hel.example")
    else:
        msg = make_mail(sender=stranger, to=f"palaute+{case.code.lower()}@hel.example", body="Sama ongelma.")
    send(gateway.port, msg, rcpt=str(msg["To"]))
    wait_for(lambda: count(gateway.db, cases) == 2, what="the stranger's own case")
    assert len(events_of(gateway.db, case.id)) == before
    assert all_cases(gateway.db)[1].resident_email == "utelias@example.com"


# Near misses of the resident's address (issue 15): each quotes the case's code in the subject and must
# get a case of its own. The same address in other letter case is the resident (domains are caseless, and
# so, in practice, are the local parts of the mail systems residents use).
NEAR_MISSES = [
    "matti@example.com",  # the resident's local part at another domain
    "matti@evil.example",
    "matti@mail.example.fi",  # a subdomain
    "matti@example.fi.evil.example",  # the resident's domain as a prefix
    "matti+hel@example.fi",  # a plus-tag variant of the resident's address
    "matti+@example.fi",
    "m.atti@example.fi",  # a dot inside the local part
    "matti.@example.fi",
    "mattі@example.fi",  # a Cyrillic "і" for the Latin "i"
]


@pytest.mark.parametrize("sender", NEAR_MISSES)
def test_a_near_miss_of_the_residents_address_quoting_the_code_does_not_join(
    gateway: RunningDaemon, sender: str
) -> None:
    case, _, _ = _open(gateway)
    before = len(events_of(gateway.db, case.id))
    msg = make_mail(
        sender=f"Matti <{sender}>", subject=f"Re: [{case.code}] Lunta kadulla", body="Vieläkin lunta."
    )
    send(gateway.port, msg)
    wait_for(lambda: count(gateway.db, receipts, receipts.c.state == "done") == 2, what="processing")
    assert len(events_of(gateway.db, case.id)) == before, "a near miss joined the resident's case"
    assert count(gateway.db, cases) == 2
    assert all_cases(gateway.db)[1].resident_email.lower() == sender.lower()


def test_the_resident_quoting_the_code_in_other_letter_case_joins(gateway: RunningDaemon) -> None:
    case, _, _ = _open(gateway)
    msg = make_mail(sender="Matti <Matti@EXAMPLE.fi>", subject=f"[{case.code}] Lunta", body="Vieläkin lunta.")
    send(gateway.port, msg)
    wait_for(lambda: "follow-up" in _kinds(gateway, case.id), what="the follow-up")
    assert count(gateway.db, cases) == 1


# -- who we never write to ----------------------------------------------------------------------


def test_an_address_only_in_cc_gets_nothing(gateway: RunningDaemon) -> None:
    neighbour = "naapuri@example.fi"
    _, _, forward = _open(gateway, make_mail(Cc=f"Naapuri <{neighbour}>"))
    send(gateway.port, reply(forward, HANDLER_FROM, "Hoidettu."), rcpt=reply_address_of(forward))
    wait_for(lambda: len(mail_to(gateway.maildir, RESIDENT)) == 2, what="the answer")
    wait_for(lambda: settled(gateway.db), what="settling")
    assert count(gateway.db, outbox, outbox.c.recipient == neighbour) == 0
    assert all(neighbour not in readable(m) for m in outbox_mail(gateway.maildir))


@pytest.mark.parametrize(
    "sender", ["palaute+x@hel.example", "No-Reply+123@kauppa.example", "postmaster@example.fi"]
)
def test_no_receipt_to_our_own_or_machine_addresses(gateway: RunningDaemon, sender: str) -> None:
    send(gateway.port, make_mail(sender=sender))
    wait_for(lambda: count(gateway.db, receipts, receipts.c.state == "done") == 1, what="processing")
    wait_for(lambda: settled(gateway.db), what="settling")
    assert count(gateway.db, outbox, outbox.c.recipient == sender.lower()) == 0
    assert mail_to(gateway.maildir, sender) == []
    assert len(mail_to(gateway.maildir, HANDLER)) == count(gateway.db, cases)  # the case itself goes on


# -- automatic mail, rate limits, loop marker ---------------------------------------------------


def test_a_handlers_out_of_office_is_kept_on_the_case_and_not_an_answer(gateway: RunningDaemon) -> None:
    case, _, forward = _open(gateway)
    ooo = reply(forward, HANDLER_FROM, "Olen lomalla 6.1. asti.", quote=False, Auto_Submitted="auto-replied")
    ooo.replace_header("Subject", "Automaattinen vastaus: " + str(forward["Subject"]))
    send(gateway.port, ooo, rcpt=reply_address_of(forward))
    wait_for(lambda: _kinds(gateway, case.id)[-1] == "automatic", what="the automatic event")
    wait_for(lambda: settled(gateway.db), what="settling")
    assert _status(gateway, case.id) == "routed"
    assert len(outbox_mail(gateway.maildir)) == 2  # receipt and forward; the out-of-office got nothing


def test_notices_are_rate_limited_per_case(start_gateway: Callable[..., RunningDaemon]) -> None:
    gateway = start_gateway(notices_per_case_per_hour=3)
    case, _, forward = _open(gateway)
    signed = reply_address_of(forward)
    colleagues = [f"kollega{i}@urakoitsija.example" for i in range(4)]
    for who in colleagues:
        send(gateway.port, reply(forward, who, "Katsotaan."), rcpt=signed)
    wait_for(lambda: _kinds(gateway, case.id).count("unverified") == 4 and settled(gateway.db), what="four")
    told = [who for who in colleagues if mail_to(gateway.maildir, who)]
    assert told == colleagues[:2]  # the receipt and two notices make three on the case this hour
    gateway.clock.advance(timedelta(minutes=61))
    send(gateway.port, reply(forward, "kollega9@urakoitsija.example", "Katsotaan."), rcpt=signed)
    wait_for(lambda: mail_to(gateway.maildir, "kollega9@urakoitsija.example"), what="a notice in a new hour")


def test_all_our_mail_carries_the_loop_marker_and_is_dropped_when_it_comes_back(
    gateway: RunningDaemon,
) -> None:
    case, _, forward = _open(gateway)
    signed = reply_address_of(forward)
    send(gateway.port, reply(forward, HANDLER_FROM, "#siirrä hiekkalaatikko"), rcpt=signed)  # reroute-refused
    send(
        gateway.port, reply(forward, "kalle@urakoitsija.example", "Katsotaan."), rcpt=signed
    )  # how-to-answer
    send(gateway.port, reply(forward, HANDLER_FROM, "Hoidettu."), rcpt=signed)  # answer
    wait_for(lambda: len(mail_to(gateway.maildir, RESIDENT)) == 2, what="the answer")
    answer = mail_to(gateway.maildir, RESIDENT)[1]
    send(gateway.port, reply(answer, RESIDENT, "Ei ole hoidettu."))  # follow-up
    wait_for(lambda: settled(gateway.db) and len(outbox_mail(gateway.maildir)) == 6, what="six messages")

    identity = identity_for(gateway.settings, gateway.live)
    ours = outbox_mail(gateway.maildir)
    kinds = {row.kind for row in _outbox_rows(gateway)}
    assert kinds == {"receipt", "forward", "reroute-refused", "how-to-answer", "answer", "follow-up"}
    for m in ours:
        assert is_our_loop_marker(identity, str(m["Message-ID"]).strip("<>"), m["X-Gateway-Loop"]), m[
            "Subject"
        ]

    events_before = len(events_of(gateway.db, case.id))
    for m in ours:  # an auto-forwarding mailbox sends everything back to us
        del m["X-Envelope-From"], m["X-Envelope-To"]
        send(gateway.port, m, rcpt="palaute@hel.example", mail_from="palaute@hel.example")
    wait_for(lambda: count(gateway.db, receipts, receipts.c.outcome == "loop") == 6, what="six loop drops")
    wait_for(lambda: settled(gateway.db), what="settling")
    assert len(events_of(gateway.db, case.id)) == events_before
    assert len(outbox_mail(gateway.maildir)) == 6 and count(gateway.db, cases) == 1


def _outbox_rows(gateway: RunningDaemon) -> list[Any]:
    from sqlalchemy import select

    with gateway.db.read() as conn:
        return list(conn.execute(select(outbox.c.kind, outbox.c.recipient, outbox.c.state)).all())


# -- bounces ------------------------------------------------------------------------------------


def test_a_residents_address_that_bounces_gets_no_mail_for_a_while(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    gateway = start_gateway(unreachable_days=1)
    case, _, forward = _open(gateway)
    signed = reply_address_of(forward)
    send(gateway.port, reply(forward, HANDLER_FROM, "Ensimmäinen vastaus."), rcpt=signed)
    answer = wait_for(lambda: mail_to(gateway.maildir, RESIDENT)[1:], what="the answer")[0]
    send_bounce(gateway.port, answer, RESIDENT)
    wait_for(lambda: _kinds(gateway, case.id)[-1] == "automatic", what="the bounce event")
    bounce = events_of(gateway.db, case.id)[-1]
    assert bounce.data["kind"] == "bounce" and bounce.data["bounced"] == [RESIDENT]
    assert [r.state for r in _outbox_rows(gateway) if r.kind == "answer"] == ["bounced"]

    send(gateway.port, reply(forward, HANDLER_FROM, "Toinen vastaus."), rcpt=signed)
    wait_for(lambda: _kinds(gateway, case.id).count("answer") == 2 and settled(gateway.db), what="answer 2")
    assert events_of(gateway.db, case.id)[-1].data["relayed"] is False
    assert len(mail_to(gateway.maildir, RESIDENT)) == 2
    assert mail_to(gateway.maildir, ESCALATION) == []  # a resident's bounce is no alarm

    gateway.clock.advance(timedelta(days=1, hours=1))
    send(gateway.port, reply(forward, HANDLER_FROM, "Kolmas vastaus."), rcpt=signed)
    wait_for(
        lambda: [m for m in mail_to(gateway.maildir, RESIDENT) if "Kolmas vastaus." in text_of(m)],
        what="mail again after the pause",
    )


def _escalating_city(tmp_path: Path) -> Path:
    email = f"    email: {HANDLER}\n"
    return city_config(tmp_path, **{email: f"{email}    escalation: {ESCALATION}\n"})


def test_a_handlers_address_that_bounces_raises_an_alarm(
    start_gateway: Callable[..., RunningDaemon], tmp_path: Path
) -> None:
    gateway = start_gateway(config_dir=_escalating_city(tmp_path))
    case, _, forward = _open(gateway)
    send_bounce(gateway.port, forward, HANDLER)
    [alarm] = wait_for(lambda: mail_to(gateway.maildir, ESCALATION), what="the alarm")
    assert case.code in alarm["Subject"] and "HÄLYTYS" in alarm["Subject"]
    assert HANDLER in text_of(alarm) and "talvi" in text_of(alarm)
    assert ("alarm", ESCALATION) in {(r.kind, r.recipient) for r in _outbox_rows(gateway)}
    bounce = events_of(gateway.db, case.id)[-1]
    assert (bounce.kind, bounce.data["kind"], bounce.data["bounced"]) == ("automatic", "bounce", [HANDLER])

    # The handler bounced, but what a resident writes is never held back from the department (issue 15:
    # a forged bounce silenced one): the follow-up is queued, and the alarm is not repeated for the case.
    [receipt] = mail_to(gateway.maildir, RESIDENT)
    send(gateway.port, reply(receipt, RESIDENT, "Onko tästä tietoa?"))
    wait_for(lambda: _kinds(gateway, case.id)[-1] == "follow-up" and settled(gateway.db), what="follow-up")
    assert [r.kind for r in _outbox_rows(gateway) if r.kind == "follow-up"] == ["follow-up"]
    assert len(mail_to(gateway.maildir, ESCALATION)) == 1


def test_a_late_bounce_still_makes_the_address_unreachable(
    start_gateway: Callable[..., RunningDaemon], tmp_path: Path
) -> None:
    gateway = start_gateway(config_dir=_escalating_city(tmp_path), unreachable_days=1)
    case, _, forward = _open(gateway)
    # Relays retry for days before they give up: the final bounce of the forward arrives two days later.
    gateway.clock.advance(timedelta(days=2))
    send_bounce(gateway.port, forward, HANDLER)
    wait_for(lambda: "automatic" in _kinds(gateway, case.id), what="the bounce")
    receipt = mail_to(gateway.maildir, RESIDENT)[0]
    send(gateway.port, reply(receipt, RESIDENT, "Onko tästä tietoa?"))
    wait_for(lambda: "follow-up" in _kinds(gateway, case.id) and settled(gateway.db), what="follow-up")
    # The bounce counts although late: the forward is marked; the follow-up is still queued (issue 15).
    assert {r.kind: r.state for r in _outbox_rows(gateway)}["forward"] == "bounced"
    assert [r.kind for r in _outbox_rows(gateway) if r.kind == "follow-up"] == ["follow-up"]


def test_a_bounce_of_mail_that_is_not_ours_changes_nothing(gateway: RunningDaemon) -> None:
    case, _, _ = _open(gateway)
    stray = make_mail(sender="palaute@hel.example", to=RESIDENT)
    stray.replace_header("Message-ID", make_msgid(domain="elsewhere.example"))
    send_bounce(gateway.port, stray, RESIDENT, to="palaute@hel.example")
    wait_for(lambda: count(gateway.db, receipts, receipts.c.outcome == "bounce") == 1, what="the bounce")
    assert "automatic" not in _kinds(gateway, case.id)
    assert {r.state for r in _outbox_rows(gateway)} == {"sent"}


def test_a_bounce_that_arrives_before_the_delivery_is_recorded_still_counts(
    start_gateway: Callable[..., RunningDaemon], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder: dict[str, RunningDaemon] = {}

    def bounce_at_once(msg: Message, rcpt: str) -> None:
        """A relay that knows the handler's mailbox is gone bounces before it even answers 250."""
        if rcpt == HANDLER and "Lisäys" not in str(msg["Subject"]):
            gateway = holder["gateway"]
            send_bounce(gateway.port, msg, HANDLER)
            wait_for(lambda: count(gateway.db, receipts, receipts.c.outcome == "bounce") == 1, what="bounce")

    sink = MailSink(before_accept=bounce_at_once).start()
    try:
        gateway = start_gateway(outbound_host="127.0.0.1", outbound_port=sink.port)
        holder["gateway"] = gateway
        send(gateway.port, make_mail())
        wait_for(lambda: sink.to(HANDLER) and settled(gateway.db), what="the forward and its bounce")
        [case] = all_cases(gateway.db)
        receipt = sink.to(RESIDENT)[0]
        send(gateway.port, reply(receipt, RESIDENT, "Onko tästä tietoa?"))
        wait_for(lambda: "follow-up" in _kinds(gateway, case.id) and settled(gateway.db), what="follow-up")
        assert {r.kind: r.state for r in _outbox_rows(gateway)}["forward"] == "bounced"
        # The follow-up is not held back from the department (issue 15): a hand-over is never dropped.
        wait_for(lambda: len(sink.to(HANDLER)) == 2, what="the follow-up to the department")
    finally:
        sink.stop()
