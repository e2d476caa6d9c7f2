"""Moderation's rules against the store on SQLite and PostgreSQL (issue 18), and the photo check by bytes:
what a draft holds (the resident's text, the answer they were sent, the names the case knows), what blocks
publishing, what publishing and withdrawing write, which cases wait, and which photos count as bare."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin
from sqlalchemy import select

from gateway.casework.moderation import Moderation, Refused, normalise
from gateway.casework.photo_metadata import bare_type
from gateway.errors import NoSuchCase
from gateway.model import EventKind
from gateway.model.message import Attachment
from gateway.model.tracking_code import new_code
from gateway.store import cases as case_store
from gateway.store import users
from gateway.store.db import Database
from gateway.store.tables import attachments, case_events, publication_photos, publications
from gateway.submission.photos import clean
from tests.support.mail import stored_case

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
MODERATOR = "mona@hel.example"


def image(fmt: str, mode: str = "RGB", **options: Any) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (32, 24), "red" if mode != "P" else 3).save(out, fmt, **options)
    return out.getvalue()


def exif() -> Image.Exif:
    found = Image.Exif()
    found[0x0110] = "SecretCam 3000"
    found.get_ifd(0x8825)[2] = (60.0, 10.0, 12.3456)
    return found


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Matti Meikäläinen")
    return image("PNG", pnginfo=info)


XMP = b"\xff\xe1\x00\x2ahttp://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>" + b" " * 6  # an APP1 segment


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (clean(image("JPEG", exif=exif()), "a.jpg").content, "image/jpeg"),
        (clean(image("PNG", "RGBA"), "a.png").content, "image/png"),
        (clean(image("PNG", "P"), "a.png").content, "image/png"),
        (clean(image("WEBP", "RGBA"), "a.webp").content, "image/webp"),
        (image("JPEG", progressive=True), "image/jpeg"),
        (image("WEBP", lossless=True), "image/webp"),
        (image("JPEG", exif=exif()), None),
        (image("JPEG", comment=b"Matti"), None),
        (image("JPEG", icc_profile=b"\x00" * 128), None),
        (image("JPEG")[:2] + XMP + image("JPEG")[2:], None),
        (png_with_text(), None),
        (image("PNG", exif=exif()), None),
        (image("WEBP", exif=exif()), None),
        (image("JPEG") + b"PK\x03\x04 a zip after the end", None),
        (image("JPEG")[:-40], None),
        (image("PNG")[:-12], None),
        (image("GIF"), None),
        (b"RIFF\x04\x00\x00\x00WEBP", None),
        (b"", None),
    ],
)
def test_a_photo_is_bare_only_without_any_metadata(data: bytes, expected: str | None) -> None:
    assert bare_type(data) == expected


@given(
    st.binary(max_size=300),
    st.sampled_from([b"", b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"RIFF\x10\x00\x00\x00WEBP"]),
)
def test_the_photo_check_never_raises_on_any_bytes(data: bytes, prefix: bytes) -> None:
    assert bare_type(prefix + data) in (None, "image/jpeg", "image/png", "image/webp")


# -- the store ---------------------------------------------------------------------------------------------


@pytest.fixture
def moderation(db: Database) -> Moderation:
    with db.write() as conn:
        users.add_user(conn, "pia.puhelin@hel.example", "Pia Puhelinpalvelu", "agent", (), "x", NOW)
    return Moderation(db)


def answered(
    db: Database,
    text: str = "Kuoppa Runeberginkadulla. Soittakaa 040 123 4567.",
    *,
    channel: str = "web",
    consent: bool = True,
    status: str = "answered",
    answers: tuple[tuple[str, bool], ...] = (("Kuoppa on paikattu.", True),),
    photos: tuple[bytes, ...] = (),
) -> tuple[str, list[int]]:
    """A case with the resident's *text* and *answers* (text, relayed) as intake and the desk store
    them; its code and its photos' ids."""
    code = new_code()
    with db.write() as conn:
        case = stored_case(
            conn, code=code, status=status, channel=channel, created_at=NOW, updated_at=NOW,
            resident_email="matti.meikalainen@example.fi", resident_name="Matti Meikäläinen", language="fi",
            subject="Kuoppa", text=text, publish_consent=consent,
        )  # fmt: skip
        opened = case_store.insert_event(
            conn, case.id, EventKind.OPENED, NOW, data={"entered_by": "pia.puhelin@hel.example"}
        )
        items = [Attachment(f"k{i}.jpg", "image/jpeg", len(p), p) for i, p in enumerate(photos)]
        case_store.insert_attachments(conn, case.id, opened, items)
        for i, (words, relayed) in enumerate(answers):
            by = f"hanna{i}@hel.example"
            data = {"answered_by": by, "answered_by_name": f"Hanna Käsittelijä{i}", "relayed": relayed}
            case_store.insert_event(conn, case.id, EventKind.ANSWER, NOW, actor=by, text=words, data=data)
        ids = conn.execute(select(attachments.c.id).where(attachments.c.case_id == case.id)).scalars()
        return code, sorted(ids)


def reason_of(call: Callable[[], object]) -> str:
    """The reason *call* was refused for."""
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.reason


def rows(db: Database, table: Any) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(table)))


def test_a_draft_holds_the_residents_text_the_answer_sent_and_the_names_the_case_knows(
    db: Database, moderation: Moderation
) -> None:
    answers = (("Ensimmäinen vastaus.", True), ("Toinen vastaus.\r\nRivi.", True), ("Ei lähetetty.", False))
    code, _ = answered(db, "Matti Meikäläinen tässä, Pia Puhelinpalvelu kirjasi tämän.", answers=answers)
    draft = moderation.draft(code)
    assert draft.question.text == "Matti Meikäläinen tässä, Pia Puhelinpalvelu kirjasi tämän."
    assert draft.answer.text == "Toinen vastaus.\nRivi."  # the latest one relayed, line ends as \n
    assert set(draft.names) >= {
        "Matti Meikäläinen", "Hanna Käsittelijä0", "Pia Puhelinpalvelu", "Matti Meikalainen", "Pia Puhelin",
    }  # fmt: skip
    assert [(f.kind, f.text) for f in draft.question.findings] == [
        ("name", "Matti Meikäläinen"), ("name", "Pia Puhelinpalvelu"),
    ]  # fmt: skip
    assert draft.consent == "given" and draft.blocked is None and draft.publication is None
    edited = moderation.draft(code, "Kysymys ilman nimiä.", "Vastaus.")
    assert edited.question.findings == () and edited.original_question == draft.question.text
    only_recorded = answered(db, answers=(("Vain kirjattu.", False),))[0]
    assert moderation.draft(only_recorded).answer.text == "Vain kirjattu."  # no address, never relayed
    with pytest.raises(NoSuchCase):
        moderation.draft("HEL-0000-0000")


@pytest.mark.parametrize(
    ("question", "reason", "kinds"),
    [
        ("Soittakaa 040 123 4567.", "personal-data", ["phone"]),
        ("Numero +358 40 123 4567.", "personal-data", ["phone"]),
        ("Posti matti(at)example.fi kiitos.", "personal-data", ["email"]),
        ("Hetu 131052-308T.", "personal-data", ["identity-code"]),
        ("Hetu 131052-308U.", "personal-data", ["identity-code-invalid"]),
        ("", "empty", []),
        ("x" * 5001, "too-long", []),
    ],
)
def test_publishing_is_refused_while_contact_data_or_an_identity_code_stays(
    db: Database, moderation: Moderation, question: str, reason: str, kinds: list[str]
) -> None:
    code, _ = answered(db)
    with pytest.raises(Refused) as refused:
        moderation.publish(code, question, "Vastaus.", (), MODERATOR, NOW)
    assert refused.value.reason == reason and [f.kind for _, f in refused.value.left] == kinds
    assert rows(db, publications) == []


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ({"status": "routed"}, "not-answered"),
        ({"answers": ()}, "no-answer"),
        ({"status": "closed", "answers": ()}, "no-answer"),
        ({"consent": False}, "no-consent"),
        ({"consent": False, "channel": "phone"}, "no-consent"),
    ],
)
def test_a_case_that_is_not_answered_or_not_allowed_is_never_published(
    db: Database, moderation: Moderation, case: dict[str, Any], reason: str
) -> None:
    code, _ = answered(db, **case)
    assert moderation.draft(code).blocked == reason
    with pytest.raises(Refused, match=reason):
        moderation.publish(code, "Kysymys.", "Vastaus.", (), MODERATOR, NOW)
    assert rows(db, publications) == []


def test_mail_and_open311_never_ask_and_are_published_without_consent(
    db: Database, moderation: Moderation
) -> None:
    for channel in ("smtp", "imap", "open311"):
        code, _ = answered(db, channel=channel, consent=False)
        assert moderation.draft(code).consent == "not-asked"
        moderation.publish(code, "Kysymys.", "Vastaus.", (), MODERATOR, NOW)
    assert len(rows(db, publications)) == 3


def test_publishing_records_who_what_and_which_photos_and_a_new_publication_replaces_them(
    db: Database, moderation: Moderation
) -> None:
    bare, tagged = clean(image("JPEG", exif=exif()), "k.jpg").content, image("JPEG", exif=exif())
    code, (first, second, third) = answered(db, photos=(bare, bare, tagged))
    assert [p.publishable for p in moderation.draft(code).photos] == [True, True, False]
    _, (others,) = answered(db, "Toinen.", photos=(bare,))
    for photos in ((first, third), (others,)):  # one with its EXIF, another case's
        refused = reason_of(lambda: moderation.publish(code, "Q.", "A.", photos, MODERATOR, NOW))  # noqa: B023
        assert refused == "photo"

    text = "Kuoppa Mannerheimintie 5:n kohdalla, sanoo Matti Meikäläinen."
    done = moderation.publish(code, f"{text}\r\n", " Vastaus. ", (first,), MODERATOR, NOW)
    assert (done.question, done.answer, done.published_by, done.withdrawn_at) == (
        text,
        "Vastaus.",
        MODERATOR,
        None,
    )
    assert [(r.attachment_id) for r in rows(db, publication_photos)] == [first]
    with db.read() as conn:
        note = conn.execute(select(case_events).where(case_events.c.kind == "note")).one()
    assert note.actor == MODERATOR and note.text == "published in the open column"
    assert note.data == {
        "published": True, "question": text, "answer": "Vastaus.", "photos": [first],
        "left": {"name": 1, "street-address": 1},
    }  # fmt: skip
    assert moderation.public_photo(code, first) == ("image/jpeg", bare)
    assert moderation.public_photo(code, second) is None

    later = NOW + timedelta(hours=1)
    moderation.publish(code, "Uusi kysymys.", "Uusi vastaus.", (second,), MODERATOR, later)
    [again] = rows(db, publications)
    assert again.question == "Uusi kysymys." and again.published_at == later
    assert [(r.attachment_id) for r in rows(db, publication_photos)] == [second]
    assert moderation.public_photo(code, first) is None and moderation.public_photo(code, second) is not None


def test_a_withdrawal_needs_a_reason_takes_the_photos_too_and_can_be_published_again(
    db: Database, moderation: Moderation
) -> None:
    photo = clean(image("PNG"), "k.png").content
    code, (first,) = answered(db, photos=(photo,))
    assert reason_of(lambda: moderation.withdraw(code, MODERATOR, "syy", NOW)) == "not-published"
    moderation.publish(code, "Kysymys.", "Vastaus.", (first,), MODERATOR, NOW)
    assert moderation.published(0, 20)[0] == 1
    assert reason_of(lambda: moderation.withdraw(code, MODERATOR, "   ", NOW)) == "no-reason"
    moderation.withdraw(code, MODERATOR, "Asukas  pyysi\n poistoa", NOW)
    [withdrawn] = rows(db, publications)
    assert withdrawn.withdrawn_at == NOW and moderation.public_photo(code, first) is None
    assert moderation.published(0, 20) == (0, ())
    assert moderation.draft(code).publication is not None and not moderation.draft(code).is_published
    with db.read() as conn:
        notes = conn.execute(select(case_events.c.data).where(case_events.c.kind == "note")).scalars().all()
    assert notes[-1] == {"withdrawn": True, "why": "Asukas pyysi poistoa"}
    moderation.publish(code, "Kysymys.", "Vastaus.", (first,), MODERATOR, NOW)
    assert moderation.draft(code).is_published and moderation.public_photo(code, first) is not None


def test_the_waiting_list_holds_answered_cases_that_may_be_published_and_never_were(
    db: Database, moderation: Moderation
) -> None:
    waiting = [
        answered(db)[0],
        answered(db, channel="smtp", consent=False)[0],
        answered(db, status="closed")[0],
    ]
    answered(db, status="routed")
    answered(db, consent=False)
    answered(db, status="closed", answers=())
    published, _ = answered(db)
    moderation.publish(published, "Kysymys.", "Vastaus.", (), MODERATOR, NOW)
    withdrawn, _ = answered(db)
    moderation.publish(withdrawn, "Kysymys.", "Vastaus.", (), MODERATOR, NOW)
    moderation.withdraw(withdrawn, MODERATOR, "syy", NOW)
    total, found = moderation.waiting(0, 20)
    assert total == 3 and sorted(w.code for w in found) == sorted(waiting)
    assert moderation.waiting(2, 20)[1] == found[2:]


def test_line_ends_are_those_of_the_page() -> None:
    assert normalise("a\r\nb\rc\n") == "a\nb\nc\n"
