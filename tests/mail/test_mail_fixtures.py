"""Table-driven checks of parse() over the hand-written fixture corpus (see make_fixtures.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.mail import parse, to_json

FIXTURES = Path(__file__).parent / "fixtures"
PDF_SIZE = 77
JPEG_SIZE = 1037

# One row per fixture file. Keys:
#   subject, from (email, name), to, cc, message_id, in_reply_to, references, language,
#   auto_reply, bounce, tracking_code, loop_marker, bounced, date: equal to the parsed value;
#   text_has / text_lacks: substrings of text; reply: reply_text exactly;
#   reply_has / reply_lacks: substrings; attachments: [(filename, content_type, size)];
#   kwargs: extra keyword arguments for parse().
# Unlisted booleans must be False and unlisted tracking_code/loop_marker must be None.
EXPECTED: dict[str, dict[str, Any]] = {
    "outlook_fi_reply.eml": {
        "subject": "VS: Lumiaura jätti vallin suojatielle (HEL-7K3M-Q9TD)",
        "from": ("liisa.virtanen@example.fi", "Liisa Virtanen"),
        "to": ("palaute@hel.example",),
        "message_id": "HE1PR0701MB2345.eurprd07.prod.outlook.com",
        "in_reply_to": "case-7K3M-Q9TD.ack@hel.example",
        "references": ("case-7K3M-Q9TD@hel.example", "case-7K3M-Q9TD.ack@hel.example"),
        "date": datetime(2025, 2, 3, 8, 39, 55, tzinfo=UTC),
        "reply_has": ["Voisiko aura käydä vielä tänään?", "Liisa Virtanen"],
        "reply_lacks": ["Lähettäjä", "Vastaanottaja", "palautteesi on vastaanotettu", "____"],
        "text_has": ["Lähettäjä: Kaupungin palaute"],  # text keeps the quote; reply_text drops it
        "language": "fi",
        "tracking_code": "HEL-7K3M-Q9TD",  # X-Auto-Response-Suppress present, still not automatic
    },
    "gmail_fi_reply.eml": {
        "subject": "Re: Kuoppa Mannerheimintiellä",
        "from": ("matti.meikalainen@gmail.example", "Matti Meikäläinen"),
        "reply": "Hei!\n\nKuoppa on nyt kasvanut niin isoksi, että pyöräilijä kaatui siihen eilen "
        "illalla.\nLaitan kuvan liitteeksi.",
        "text_has": ["kirjoitti:", "> palautteesi on vastaanotettu."],
        "language": "fi",
        "attachments": [("IMG_20250203_221501.jpg", "image/jpeg", JPEG_SIZE)],
        "tracking_code": "HEL-7K3M-Q9TD",  # from the plus-address in To
        "in_reply_to": "case-7K3M-Q9TD@hel.example",
    },
    "apple_mail_en.eml": {
        "from": ("jane.smith@icloud.example", "Jane Smith"),
        "reply_has": ["tape around it until it is fixed?"],
        "reply_lacks": ["wrote:", "Your case has been passed on"],
        "language": "en",
        "message_id": "8F3B2A1C-4D5E-4F60-8A9B-0C1D2E3F4A5B@icloud.example",
    },
    "thunderbird_sv.eml": {
        "subject": "Re: Gatubelysningen på Runebergsgatan",
        "reply": "Hej,\n\nlamporna på Runebergsgatan är fortfarande släckta mellan nummer 20 och 34.\n"
        "Det är mycket mörkt på kvällarna och barnen går till skolan där.",
        "text_has": ["skrev Stadens respons:", "Runebergsgatan 22 B 14"],
        "language": "sv",
    },
    "iphone_fi.eml": {
        "reply_lacks": ["Lähetetty iPhonesta"],
        "reply_has": ["kaatunut iso koivu"],
        "text_has": ["Lähetetty iPhonesta"],
        "language": "fi",
        "attachments": [("IMG_0042.jpeg", "image/jpeg", JPEG_SIZE)],  # inline, still kept
    },
    "android_sv.eml": {
        "subject": "Trasig trafikljus vid Hagnäs",
        "reply_lacks": ["Skickat från min"],
        "language": "sv",
    },
    "outlook_sv_reply.eml": {
        "subject": "SV: Snöröjning Tölö (HEL-2B3C-4D5E)",
        "reply_has": ["Äldre personer vågar inte gå ut.", "Med vänliga hälsningar"],
        "reply_lacks": ["Från:", "Skickat:", "Ämne:", "Tack för din respons"],
        "language": "sv",
        "tracking_code": "HEL-2B3C-4D5E",
    },
    "outlook_en_original.eml": {
        "from": ("oliver.brown@contractor.example", "Brown, Oliver"),
        "to": ("feedback@hel.example", "site.manager@contractor.example", "ops@hel.example"),
        "cc": ("site.manager@contractor.example", "ops@hel.example"),
        "reply_has": ["a guard now checks it every evening.", "Site Supervisor"],
        "reply_lacks": ["Original Message", "From:", "site fence is open at night"],
        "language": "en",
    },
    "latin9_body.eml": {
        "subject": "Pysäköintivirhemaksu € 60",
        "from": ("aino@kolumbus.example", "Seinäjärvi, Aino"),
        "text_has": ["pysäköintivirhemaksun 60 €, vaikka"],
        "language": "fi",
    },
    "cp1252_body.eml": {
        "subject": "Parking fine - “no sign visible”",
        "text_has": ["60 € although", "snow – I couldn’t see it."],
        "language": "en",
    },
    "encoded_subject_split.eml": {
        "subject": "Pyörätie on jäässä – liukastuin",
        "from": ("matti@example.fi", "Matti Meikäläinen"),
        "language": "fi",
    },
    "raw_utf8_subject.eml": {
        "subject": "Pöö ja pää ja kää",  # raw UTF-8 mixed with an encoded word
        "from": ("poo@example.fi", "Pöö Mäkinen"),
        "text_has": ["Pöö-puistossa"],
    },
    "raw_latin1_header.eml": {
        "subject": "Hål i cykelvägen vid Gräsviken",
        "from": ("jorgen@example.se", "Jörgen Åström"),
        "language": "sv",
    },
    "rfc2231_filename.eml": {
        "attachments": [
            ("Pöytäkirja työmaa.pdf", "application/pdf", PDF_SIZE),
            ("Työmaan aita kaatunut Kalevankatu 12.jpg", "image/jpeg", JPEG_SIZE),
            ("kävelytie.jpg", "image/jpeg", 100),
            ("attachment-4.bin", "application/octet-stream", 12),
        ],
        "reply": "Työmaan aita on kaatunut jalkakäytävälle. Kuvat ja pöytäkirja liitteenä.",
    },
    "html_only_table.eml": {
        "text_has": [
            "täynnä jo viikon – roskia lentää ympäri puistoa. Kuvat alla.",
            "Kaivopuiston ranta  4",
            "Helena & Jussi",
        ],
        "text_lacks": ["<p>", "&auml;", "&amp;", "color: red", "\xa0"],
        "language": "fi",
    },
    "nested_related.eml": {
        "reply": "Katuvalo on rikki Fleminginkadulla talon 12 kohdalla, koko kortteli on pimeänä.",
        "text_lacks": ["<html>", "cid:"],  # text/plain chosen over the HTML alternative
        "attachments": [
            ("image001.png", "image/png", 50),
            ("kartta.pdf", "application/pdf", PDF_SIZE),
        ],
    },
    "forwarded_rfc822.eml": {
        "reply": "Urakoitsija sanoo, ettei se hoida Kalevankadun lumitöitä. Kuka sitten hoitaa?",
        "text_has": [
            "---------- Forwarded message ----------\nFrom: Urakoitsija Oy",
            "Emme hoida tätä aluetta",
        ],
        "attachments": [("Vastaus lumityöt.eml", "message/rfc822", None)],
        "language": "fi",
    },
    "gmail_inline_forward.eml": {
        "reply": "Tässä lupaamanne vahvistus, mutta penkkiä ei ole vieläkään asennettu.",
        "text_has": ["Penkki asennetaan tammikuun aikana."],
    },
    "lying_ascii_utf8.eml": {"text_has": ["Bussipysäkin katos on särjetty"], "language": "fi"},
    "lying_ascii_latin1.eml": {"text_has": ["Bussipysäkin katos on särjetty"]},
    "lying_latin1_utf8.eml": {"text_has": ["Bussipysäkin katos on särjetty"]},
    "unknown_charset.eml": {
        "subject": "Katos särjetty",
        "text_has": ["Bussipysäkin katos on särjetty"],
    },
    "broken_base64.eml": {
        "text_has": ["Leikkipuiston portti on irti", "lapset pääsevät kadulle"],
    },
    "no_message_id_no_date.eml": {
        "message_id": "sha256-26cde82727fb5630469c06fa3ae5929865e85ff98716e914cfba8f93c4b9481f"
        "@gateway.invalid",
        "date": None,
        "from": ("someone@example.org", ""),
        "language": "en",
    },
    "postfix_dsn.eml": {
        "bounce": True,
        "auto_reply": True,
        "bounced": ("ack.HEL-7K3M-Q9TD.1@hel.example",),
        "from": ("mailer-daemon@mx.hel.example", "Mail Delivery System"),
        "attachments": [("attachment-1.eml", "message/rfc822", None)],
        "loop_marker": None,  # the returned message's loop header is not this message's
        "tracking_code": None,  # a code in the returned message is not in this subject
    },
    "exchange_ndr.eml": {
        "bounce": True,
        "auto_reply": True,
        "bounced": ("relay.HEL-2B3C-4D5E.7@hel.example",),
        "tracking_code": "HEL-2B3C-4D5E",
    },
    "qmail_failure_notice.eml": {
        "bounce": True,
        "auto_reply": True,
        "bounced": ("ack.HEL-9XYZ-8WVT.1@hel.example",),
    },
    "ooo_fi.eml": {"auto_reply": True, "tracking_code": "HEL-2B3C-4D5E", "language": "fi"},
    "ooo_sv.eml": {"auto_reply": True, "language": "sv"},
    "ooo_en.eml": {"auto_reply": True, "tracking_code": "HEL-ABCD-EFGH", "language": "en"},
    "mailing_list.eml": {"auto_reply": True},
    "newsletter_bulk.eml": {"auto_reply": True, "text_has": ["Kaikki talvirenkaat -30 %!"]},
    "auto_submitted_no.eml": {"auto_reply": False, "language": "fi"},
    "loop_header.eml": {
        "loop_marker": "hel-gateway-1",
        "auto_reply": True,
        "tracking_code": "HEL-7K3M-Q9TD",
    },
    "plus_address_code.eml": {
        "tracking_code": "HEL-7K3M-Q9TD",  # the code in the body (HEL-ZZZZ-ZZZZ) is ignored
        "to": ("palaute+hel-7k3m-q9td.x4f9a2@hel.example",),
    },
    "new_feedback_en.eml": {
        "from": ("emily.clarke@example.co.uk", "Emily Clarke"),
        "to": ("feedback@hel.example", "parks@hel.example", "councillor@hel.example"),
        "cc": ("councillor@hel.example",),
        "reply_has": ["Could someone please repair the latch?", "Thanks,\nEmily"],
        "language": "en",
    },
    "short_thanks.eml": {"reply": "Kiitos!", "language": None, "tracking_code": "HEL-7K3M-Q9TD"},
    "null_sender_notice.eml": {"auto_reply": True, "kwargs": {"mail_from": ""}},
    "interleaved_sv.eml": {
        "reply": "Ja, det gäller boendeparkering för Tölö.\n\nJa, ABC-123.\n\nHälsningar\nOlof",
        "language": "sv",
    },
}


def test_every_fixture_has_a_row_and_the_corpus_is_big_enough() -> None:
    on_disk = {p.name for p in FIXTURES.glob("*.eml")}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    want = EXPECTED[name]
    msg = parse((FIXTURES / name).read_bytes(), **want.get("kwargs", {}))

    simple = {
        "subject": msg.subject,
        "message_id": msg.message_id,
        "in_reply_to": msg.in_reply_to,
        "references": msg.references,
        "date": msg.date,
        "language": msg.language,
        "to": msg.to,
        "cc": msg.cc,
    }
    for key, actual in simple.items():
        if key in want:
            assert actual == want[key], key
    if "from" in want:
        assert (msg.sender.email, msg.sender.name) == want["from"]
    assert msg.auto_reply is want.get("auto_reply", False)
    assert msg.bounce is want.get("bounce", False)
    assert msg.tracking_code == want.get("tracking_code")
    assert msg.loop_marker == want.get("loop_marker")
    assert msg.bounced_message_ids == want.get("bounced", ())
    for part in want.get("text_has", ()):
        assert part in msg.text
    for part in want.get("text_lacks", ()):
        assert part not in msg.text
    if "reply" in want:
        assert msg.reply_text == want["reply"]
    for part in want.get("reply_has", ()):
        assert part in msg.reply_text
    for part in want.get("reply_lacks", ()):
        assert part not in msg.reply_text
    got = [(a.filename, a.content_type, a.size) for a in msg.attachments]
    expected = want.get("attachments", [])
    assert [(f, c) for f, c, _ in got] == [(f, c) for f, c, _ in expected]
    for (_, _, size), (_, _, want_size) in zip(got, expected, strict=True):
        assert size == want_size or want_size is None
    for attachment in msg.attachments:
        assert attachment.size == len(attachment.content) > 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_json_is_the_design_contract(name: str) -> None:
    data = to_json(parse((FIXTURES / name).read_bytes()))
    keys = list(data)
    assert keys[:15] == [
        "message_id", "from", "to", "subject", "text", "reply_text", "language", "attachments",
        "auto_reply", "bounce", "tracking_code", "in_reply_to", "references", "cc", "date",
    ]  # fmt: skip
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert "<" not in str(data["message_id"]) and ">" not in str(data["message_id"])
    sender = data["from"]
    assert isinstance(sender, dict) and sender["email"] == sender["email"].lower()
    assert all(a == a.lower() for a in data["to"])  # type: ignore[attr-defined]
