"""Charset fallbacks and header decoding: the parts of parse() that meet the worst bytes."""

from __future__ import annotations

import pytest

from gateway.mail import parse
from gateway.mail.charset import clean, codec_for, decode_bytes
from gateway.mail.headers import decode_words, message_ids, parse_date


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        ("Pöö €".encode(), "utf-8", "Pöö €"),
        ("Pöö €".encode("cp1252"), "windows-1252", "Pöö €"),
        ("Pöö €".encode("iso-8859-15"), "iso-8859-15", "Pöö €"),
        ("“quoted”".encode("cp1252"), "iso-8859-1", "“quoted”"),  # latin-1 label, cp1252 bytes
        ("Pöö".encode(), "us-ascii", "Pöö"),  # lying label, UTF-8 bytes
        ("Pöö".encode("latin-1"), "us-ascii", "Pöö"),  # lying label, Latin-1 bytes
        ("Pöö".encode(), "iso-8859-1", "Pöö"),  # single-byte label over valid UTF-8
        ("Pöö".encode("latin-1"), "x-unknown", "Pöö"),
        ("Pöö".encode(), "base64", "Pöö"),  # a bytes codec is not a charset
        (b"a\x00b", "utf-8", "ab"),
    ],
)
def test_decode_bytes_falls_back_sensibly(data: bytes, label: str, expected: str) -> None:
    assert decode_bytes(data, label) == expected


def test_codec_labels() -> None:
    assert codec_for("ISO-8859-1") == "cp1252"
    assert codec_for("utf-8*fi") == "utf-8"
    assert codec_for("x-unknown") is None
    assert codec_for("rot13") is None
    assert codec_for("us-ascii") is None


def test_clean_redecodes_escaped_bytes_and_replaces_lone_surrogates() -> None:
    assert clean("P\udcc3\udcb6\udcc3\udcb6") == "Pöö"  # surrogate-escaped UTF-8
    assert clean("H\udce5l") == "Hål"  # surrogate-escaped Latin-1
    assert clean("x\ud800y") == "x\ufffdy"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"=?utf-8?Q?Py=C3=B6r=C3=A4tie_on_j=C3?=\r\n =?utf-8?Q?=A4=C3=A4ss=C3=A4?=", "Pyörätie on jäässä"),
        (b"=?UTF-8?B?UMO2?= =?UTF-8?B?w7Y=?=", "Pöö"),
        (b"=?utf-8?b?UMO2w7Y?=", "Pöö"),  # padding missing
        (b"P\xc3\xb6\xc3\xb6 =?iso-8859-1?q?p=E4=E4?=", "Pöö pää"),
        (b"=?iso-8859-15?q?=A4?= 60", "€ 60"),
        (b"=?x-unknown?q?s=E4rjetty?=", "särjetty"),
        (b"=?utf-8*fi?q?p=C3=A4=C3=A4?=", "pää"),
        (b"=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c"),  # space between word and text is kept
        (b"=?broken", "=?broken"),
    ],
)
def test_decode_words(raw: bytes, expected: str) -> None:
    assert decode_words(raw) == expected


def test_message_ids_and_dates() -> None:
    assert message_ids("<a@b> <c@d>\r\n <e@f>") == ("a@b", "c@d", "e@f")
    assert message_ids("bare@id") == ("bare@id",)
    assert message_ids("two words") == ()
    assert parse_date("Mon, 3 Feb 2025 10:12:00 +0200").isoformat() == "2025-02-03T08:12:00+00:00"  # type: ignore[union-attr]
    assert parse_date("Mon, 3 Feb 2025 10:12:00 -0000").isoformat() == "2025-02-03T10:12:00+00:00"  # type: ignore[union-attr]
    assert parse_date("tomorrow") is None


def test_malformed_headers_do_not_stop_the_rest() -> None:
    raw = (
        b'From: "unterminated <a@b.example>\n'
        b'To: ;;;, <@@>, "x" <Real@Example.ORG>\n'
        b"Subject: =?utf-8?q?ok?= \xff\xfe\n"
        b"Date: Feb 31 2025\n"
        b"Message-ID: <<weird>>\n"
        b'Content-Type: text/plain; charset="\n'
        b"\n"
        b"body\n"
    )
    msg = parse(raw)
    assert msg.to == ("real@example.org",)
    assert msg.subject.startswith("ok")
    assert msg.date is None
    assert msg.text == "body"


def test_nul_in_a_content_type_does_not_reach_the_attachment() -> None:
    # Found by the mutation property test: the MIME type itself carried a NUL.
    raw = (
        b"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nhello there\n"
        b"--b\nContent-Type: \x00image/png\nContent-Disposition: attachment\n\n\x89PNG\n--b--\n"
    )
    msg = parse(raw)
    assert [a.content_type for a in msg.attachments] == ["image/png"]
