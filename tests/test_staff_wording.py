"""Issue 15, items 7 and 8: an official's name is replaced, not the sentence dropped; every word a reader
sees is in their language; no second greeting; a notice shows the case's status at sending time."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message
from zoneinfo import ZoneInfo

import pytest

from gateway.casework.redact import redact_handler
from gateway.model import Case, CaseStatus, Decision
from gateway.notifier.deadline_mail import reminder_values
from gateway.notifier.handover import Handover, forward_values
from gateway.notifier.templates import Templates
from gateway.notifier.wording import greeting, opens_with_greeting
from tests.support.conversation import mail_to, reply, reply_address_of, text_of
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, events_of, make_mail, send, settled

# -- item 7: the name, not the sentence ----------------------------------------------------------

SIGN = {"fi": "Ystävällisin terveisin", "sv": "Med vänlig hälsning", "en": "Kind regards"}
CASES = [
    # (language, name, the answer, what must reach the resident, what must not)
    ("fi", "Liisa Virtanen", "Liisa Virtanen käy tarkistamassa tilanteen huomenna.",
     "Käsittelijä käy tarkistamassa tilanteen huomenna.", "Virtanen"),
    ("fi", "Virtanen Liisa", "Tilanne tarkistetaan huomenna; asia on Liisa Virtasen hoidossa.",
     "asia on käsittelijän hoidossa.", "Virtas"),
    ("fi", "Liisa Virtanen", "Hei Matti,\n\ntäällä Liisa Virtanen. Katu aurataan tänään.",
     "täällä käsittelijä. Katu aurataan tänään.", "Liisa"),
    ("sv", "Anna Berg", "Anna Berg kontrollerar saken i morgon.",
     "Handläggaren kontrollerar saken i morgon.", "Berg"),
    ("sv", "Anna Berg", "Hej Maria,\n\nhär är Anna Berg. Bänken lagas i veckan.",
     "här är handläggaren. Bänken lagas i veckan.", "Anna"),
    ("en", "John Smith", "John Smith will check the bench tomorrow.",
     "Our staff will check the bench tomorrow.", "Smith"),
    ("en", "John Smith", "Hello Jane,\n\nthis is John Smith. The bench is repaired this week.",
     "this is our staff. The bench is repaired this week.", "John"),
]  # fmt: skip


@pytest.mark.parametrize("where", ["content", "signed", "unmarked signature"])
@pytest.mark.parametrize(("language", "name", "answer", "kept", "gone"), CASES)
def test_the_name_is_replaced_and_the_signature_block_removed(
    language: str, name: str, answer: str, kept: str, gone: str, where: str
) -> None:
    email = "liisa.virtanen@hel.example"
    signature = {
        "content": "",
        "signed": f"\n\n{SIGN[language]}\n{name}\nTyönjohtaja | Arbetsledare\n040 123 4567\n{email}",
        "unmarked signature": f"\n\n{name}\nTyönjohtaja, puh. 040 123 4567",
    }[where]
    redacted = redact_handler(answer + signature, email, name, language)
    assert kept in redacted.text
    assert gone not in redacted.text and "040 123" not in redacted.text and email not in redacted.text
    assert any(r.startswith("replaced: ") for r in redacted.removed)  # recorded, not silent
    if where != "content":
        assert any(r.startswith("signature: ") and "040 123 4567" in r for r in redacted.removed)


@pytest.mark.parametrize(
    ("text", "name", "language"),
    [
        ("Kivi on siirretty pois ajoradalta.", "Anna Kivi", "fi"),  # one name word is a common word
        ("Berg och dal, gatan är plogad.", "Anna Berg", "sv"),
        ("The snow was cleared by 6 pm.", "John Smith", "en"),
    ],
)
def test_an_answer_without_the_full_name_is_untouched(text: str, name: str, language: str) -> None:
    assert redact_handler(text, "x@hel.example", name, language).text == text


def test_the_official_address_in_a_sentence_is_replaced_not_the_sentence() -> None:
    redacted = redact_handler(
        "Kuvat voi lähettää osoitteeseen liisa@hel.example.", "liisa@hel.example", "L V"
    )
    assert redacted.text == "Kuvat voi lähettää osoitteeseen [osoite poistettu]."


# -- item 8: greetings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "has"),
    [
        ("Hei Matti,\n\nkatu aurataan.", True),
        ("Hei,\nkatu aurataan.", True),
        ("Hyvä palautteen antaja,\n\nkiitos.", True),
        ("Hej Maria,\n\ngatan plogas.", True),
        ("Bästa avsändare,\nTack.", True),
        ("Hello Jane,\n\nthe bench is fixed.", True),
        ("Dear resident,\nthanks.", True),
        ("Hi,\nfixed.", True),
        ("Katu aurataan tänään.", False),
        ("Heinäkuussa korjataan.", False),  # "Hei" as part of a word
        ("Hejdå snön, gatan är plogad.", False),
        ("The bench is fixed.", False),
    ],
)
def test_our_greeting_is_left_out_when_the_answer_has_one(answer: str, has: bool) -> None:
    assert opens_with_greeting(answer) is has
    assert (greeting(answer, "fi") == "") is has


@pytest.mark.parametrize(
    ("language", "ours", "theirs"),
    [("fi", "Hei,", "Hei Matti,"), ("sv", "Hej,", "Hej Maria,"), ("en", "Hello,", "Hello Jane,")],
)
def test_a_relayed_answer_greets_once(language: str, ours: str, theirs: str) -> None:
    templates = Templates()
    for answer, expected in ((f"{theirs}\n\nOK.", theirs), ("OK.", ours)):
        body = templates.render(
            "answer", language, code="HEL-7K3M-Q9TD", subject="s", answer=answer,
            greeting=greeting(answer, language), department="Kirjaamo",
        ).body  # fmt: skip
        greetings = [line for line in body.splitlines() if line.startswith(ours.rstrip(","))]
        assert greetings == [expected], body
        assert "Kirjaamo" in body.splitlines()[2 if expected == ours else 0]


# -- item 8: every enum a person reads ------------------------------------------------------------

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Helsinki")
CASE = Case(
    1, "HEL-7K3M-Q9TD", CaseStatus.ROUTED, "smtp", NOW, NOW, "m@example.fi", "Matti", "sv", "Lunta",
    "text", None, "talvi", "snow", "normal", None, NOW, None,
)  # fmt: skip
ENGLISH_ENUMS = ("normal", "urgent", "routed", "answered", "smtp", "imap", " sv", " fi")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fi", ("tavallinen", "sähköposti", "ruotsi")),
        ("sv", ("normal", "e-post", "svenska")),
        ("en", ("normal", "email", "Swedish")),
    ],
)
def test_the_hand_over_names_priority_channel_and_language_in_the_readers_language(
    language: str, expected: tuple[str, ...]
) -> None:
    handover = Handover(
        CASE, Decision("talvi", "snow", "normal", ()), "Talvi", "text", (), "r@x", TZ, language
    )
    body = Templates().render("forward", language, **forward_values(handover)).body
    for word in expected:
        assert word in body, (word, body)
    if language == "fi":
        assert not [w for w in ENGLISH_ENUMS if w in body.split("-----")[0]], body


@pytest.mark.parametrize(("language", "word"), [("fi", "käsittelyssä"), ("sv", "under behandling")])
def test_a_reminder_shows_the_status_in_the_readers_language(language: str, word: str) -> None:
    values = reminder_values(CASE, "Talvi", NOW, TZ, language)
    assert values["status"] == word


# -- item 8: the status at sending time --------------------------------------------------------


def _two(mails: list[Message]) -> list[Message]:
    return mails if len(mails) >= 2 else []


def test_the_follow_up_after_a_reopen_shows_the_status_and_due_time_it_has_now(
    gateway: RunningDaemon,
) -> None:
    resident, handler = "matti@example.fi", "talvi@urakoitsija.example"
    send(gateway.port, make_mail())
    [forward] = wait_for(lambda: mail_to(gateway.maildir, handler), what="the forward")
    send(gateway.port, reply(forward, f"T <{handler}>", "Aurataan tänään."), rcpt=reply_address_of(forward))
    [_, answer] = wait_for(
        lambda: mail_to(gateway.maildir, resident)[1:] and mail_to(gateway.maildir, resident)
    )
    [case] = all_cases(gateway.db)
    answered_due = case.due_at
    assert str(case.status) == "answered"
    send(gateway.port, reply(answer, resident, "Ei ole vieläkään aurattu."))
    [follow] = wait_for(lambda: mail_to(gateway.maildir, handler)[1:], what="the follow-up")
    wait_for(lambda: settled(gateway.db), what="settling")
    [case] = all_cases(gateway.db)
    assert str(case.status) == "routed" and case.due_at != answered_due
    body = text_of(follow)
    assert "Tila: käsittelyssä" in body and "vastattu" not in body.split("-----")[0]
    assert case.due_at.astimezone(gateway.live.timezone).strftime("%d.%m.%Y %H:%M") in body
    assert [e.kind for e in events_of(gateway.db, case.id)][-2:] == ["answer", "follow-up"]


@pytest.mark.parametrize(
    ("answer", "greetings"),
    [("Hei Matti,\n\nkatu aurataan tänään.", ["Hei Matti,"]), ("Katu aurataan tänään.", ["Hei,"])],
)
def test_a_relayed_answer_has_one_greeting(gateway: RunningDaemon, answer: str, greetings: list[str]) -> None:
    resident, handler = "matti@example.fi", "talvi@urakoitsija.example"
    send(gateway.port, make_mail())
    [forward] = wait_for(lambda: mail_to(gateway.maildir, handler), what="the forward")
    send(gateway.port, reply(forward, f"T <{handler}>", answer), rcpt=reply_address_of(forward))
    [_, relayed] = wait_for(lambda: _two(mail_to(gateway.maildir, resident)), what="the answer")
    body = text_of(relayed)
    assert [line for line in body.splitlines() if line.startswith("Hei")] == greetings, body
    assert "Talvikunnossapito on vastannut palautteeseesi" in body
