"""Issue 15: attachments are forwarded as an allow-list of types, the rest as octet-stream under a safe
name, and no Content-Type from outside reaches our outgoing headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from gateway.model import Address, Attachment
from gateway.notifier.attachment_types import forwarded_as
from gateway.notifier.compose import Identity, compose

OCTET = "application/octet-stream"


@pytest.mark.parametrize(
    ("ctype", "name", "want_type", "want_name"),
    [
        ("image/jpeg", "kuva.jpg", "image/jpeg", "kuva.jpg"),
        ("image/png", "IMG_1.png", "image/png", "IMG_1.png"),
        ("image/heic", "IMG_2.HEIC", "image/heic", "IMG_2.HEIC"),
        ("application/pdf", "lausunto.pdf", "application/pdf", "lausunto.pdf"),
        ("text/plain", "muistio.txt", "text/plain", "muistio.txt"),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "hakemus.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "hakemus.docx",
        ),
        ("application/x-msdownload", "lasku.exe", OCTET, "lasku.exe.bin"),
        ("application/pdf", "lasku.pdf.exe", OCTET, "lasku.pdf.exe.bin"),
        ("image/png", "kuva.png.scr", OCTET, "kuva.png.scr.bin"),
        ("image/svg+xml", "kartta.svg", OCTET, "kartta.svg.bin"),
        ("text/html", "sivu.html", OCTET, "sivu.html.bin"),
        ("application/octet-stream", "data", OCTET, "data.bin"),
        ("application/zip", "kuvat.zip", OCTET, "kuvat.zip.bin"),
        ("message/rfc822", "viesti.eml", OCTET, "viesti.eml"),
        ("image/png\r\n x-evil: 1", "a.png", OCTET, "a.png.bin"),
        ('image/png; x="\r\nBcc: v@evil.example"', "a.png", OCTET, "a.png.bin"),
        ("IMAGE/PNG", "a.png", "image/png", "a.png"),
        ("image/jpeg", "../../etc/passwd.jpg", "image/jpeg", "passwd.jpg"),
        ("image/jpeg", "C:\\Users\\x\\kuva.jpg", "image/jpeg", "kuva.jpg"),
        ("image/jpeg", "kuva\r\nBcc: v@evil.example.jpg", "image/jpeg", "kuvaBcc v@evil.example.jpg"),
        ("image/jpeg", "gpj.\u202eexe.jpg", "image/jpeg", "gpj.exe.jpg"),
        ("image/jpeg", "...", "image/jpeg", "attachment"),
        ("image/jpeg", "", "image/jpeg", "attachment"),
    ],
)
def test_an_attachment_is_forwarded_as_an_allowed_type_or_as_octet_stream(
    ctype: str, name: str, want_type: str, want_name: str
) -> None:
    assert forwarded_as(ctype, name) == (want_type, want_name)


@pytest.mark.parametrize(
    ("ctype", "name"),
    [
        ("image/png\r\n\tBcc: victim@evil.example", "a.png"),
        ("text/html", "x.html"),
        ("application/x-sh", "run\r\nX-Injected: 1.sh"),
    ],
)
def test_no_outside_content_type_or_name_reaches_our_headers(ctype: str, name: str) -> None:
    raw = compose(
        Identity("palaute@hel.example", "Palaute", "hel.example", "s" * 32),
        to=Address("kirjaamo@hel.example"),
        subject="Uusi palaute",
        body="Teksti",
        message_id="<x@hel.example>",
        date=datetime(2027, 1, 4, 10, tzinfo=UTC),
        attachments=(Attachment(name, ctype, 3, b"abc"),),
    )
    msg = message_from_bytes(raw, policy=policy.default)
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == OCTET and part.get_filename().endswith(".bin")
    assert part.get_content() == b"abc"
    assert b"Bcc" not in raw and b"X-Injected:" not in raw
    assert msg["Bcc"] is None
