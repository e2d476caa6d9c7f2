"""Property tests: parse() gives a clean InboundMessage for any bytes whatsoever."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.mail import parse, strip_reply, to_json
from gateway.model import InboundMessage

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.eml"))
CORPUS = [p.read_bytes() for p in FIXTURES]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def strings_of(msg: InboundMessage) -> list[str]:
    """Every string the message carries, nested ones included."""
    found: list[str] = [msg.sender.email, msg.sender.name]
    for f in fields(msg):
        value = getattr(msg, f.name)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, tuple):
            found += [v for v in value if isinstance(v, str)]
    found += [a.filename for a in msg.attachments] + [a.content_type for a in msg.attachments]
    return found


def assert_clean(msg: InboundMessage) -> None:
    for value in strings_of(msg):
        assert "\x00" not in value
        value.encode("utf-8")  # raises on a lone surrogate, as PostgreSQL would refuse it
    assert msg.message_id
    assert msg.date is None or msg.date.utcoffset() is not None
    data = to_json(msg)
    json.dumps(data, ensure_ascii=False).encode("utf-8")


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            junk = draw(
                st.sampled_from([b"\x00", b"\xff\xfe", b"=?", b"?=", b"\r\n\r\n", b"--", b"\xc3", b"<", b";"])
                | st.binary(max_size=20)
            )
            raw[at:at] = junk
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 50))]
        elif kind == "truncate":
            del raw[at:]
        elif kind == "duplicate":
            raw[at:at] = raw[at : at + draw(st.integers(1, 200))]
    return bytes(raw)


@SETTINGS
@given(st.binary(max_size=3000))
def test_parse_never_raises_on_random_bytes(raw: bytes) -> None:
    assert_clean(parse(raw))


@SETTINGS
@given(mutated_fixture())
def test_parse_never_raises_on_mutated_fixtures(raw: bytes) -> None:
    assert_clean(parse(raw, envelope_rcpts=("palaute+hel-7k3m-q9td@hel.example",), mail_from=""))


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            [
                "Subject: ",
                "From: ",
                "To: ",
                "Content-Type: multipart/mixed; boundary=b\n",
                "Content-Type: text/plain; charset=",
                "Content-Transfer-Encoding: base64\n",
                "Content-Disposition: attachment; filename*=",
                "=?utf-8?q?",
                "=?x-unknown?b?",
                "?=",
                "\n--b\n",
                "\n\n",
                "Pöö",
                "\udcff",
                "\x00",
                "<a@b>",
                "utf-8''%C3%B6",
                "message/rfc822\n\n",
            ]
        )
        | st.text(max_size=10),
        max_size=40,
    )
)
def test_parse_never_raises_on_header_soup(pieces: list[str]) -> None:
    raw = "".join(pieces).encode("utf-8", "surrogateescape")
    assert_clean(parse(raw))


@SETTINGS
@given(st.text())
@example("0\x1e>")  # found by Hypothesis: a quote after a line boundary that is not \n
def test_strip_reply_returns_part_of_its_input(text: str) -> None:
    result = strip_reply(text)
    assert result == result.strip()
    assert len(result) <= len(text)
    for line in result.splitlines():
        assert not line.lstrip().startswith(">")


def test_deep_nesting_is_cut_off_not_a_crash() -> None:
    head = b"From: a@b.example\nSubject: deep\n"
    raw = head + b"Content-Type: multipart/mixed; boundary=b0\n\n"
    for level in range(1, 200):
        raw += b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (level - 1, level)
    raw += b"--b199\nContent-Type: text/plain\n\ndeep text\n"
    msg = parse(raw)
    assert msg.subject == "deep"
    assert_clean(msg)


def test_same_bytes_same_synthetic_id_and_different_bytes_different_id() -> None:
    raw = b"From: a@b.example\nSubject: no id\n\nhello\n"
    first, again, other = parse(raw), parse(raw), parse(raw + b"!")
    assert first.message_id == again.message_id
    assert first.message_id.startswith("sha256-") and first.message_id.endswith("@gateway.invalid")
    assert first.message_id != other.message_id
