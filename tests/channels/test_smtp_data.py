"""The DATA reader against aiosmtpd's line-by-line meaning, fed in every kind of split (the end-to-end
tests with smtplib are in test_smtp.py)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.channels.smtp_data import DataReader

NEXT_COMMAND = b"MAIL FROM:<next@example.fi>\r\n"


def stuffed(content: bytes) -> bytes:
    """What a client sends for *content* (RFC 5321 §4.5.2): a dot doubled at each line start, then the
    terminator."""
    lines = content.split(b"\r\n")
    wire = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
    if content and not content.endswith(b"\r\n"):
        wire += b"\r\n"
    return wire + b".\r\n"


def reference(wire: bytes) -> bytes:
    """aiosmtpd 1.4's reading: lines up to CRLF until a lone dot, each line's leading dot removed."""
    out = []
    for line in wire.split(b"\r\n")[:-1]:
        if line == b".":
            break
        out.append((line[1:] if line.startswith(b".") else line) + b"\r\n")
    return b"".join(out)


async def read(
    chunks: list[bytes], limit: int | None = None, stream_limit: int = 64
) -> tuple[bytes | None, bytes]:
    """Feed *chunks* as they would arrive, one loop turn apart; return what was read and what is left."""
    reader = asyncio.StreamReader(limit=stream_limit)

    async def feed() -> None:
        for chunk in chunks:
            reader.feed_data(chunk)
            await asyncio.sleep(0)

    feeding = asyncio.create_task(feed())
    content = await asyncio.wait_for(DataReader(reader, limit).read(), 5)
    await feeding
    reader.feed_eof()
    return content, await reader.read()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


lines = st.lists(
    st.one_of(
        st.sampled_from([b"", b".", b"..", b".x", b"\r", b"\n", b"x\r", b"\rx", b"a.b", b"\r\r"]),
        st.binary(max_size=80),
    ),
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(lines=lines, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8))
@example(lines=[], cuts=[])
@example(lines=[b"."], cuts=[1, 2, 3])
@example(lines=[b"", b""], cuts=[1])
@example(lines=[b"x" * 300], cuts=[])
def test_content_matches_aiosmtpds_line_reading_in_any_split(lines: list[bytes], cuts: list[int]) -> None:
    wire = b"".join(line.replace(b"\r\n", b"\n") + b"\r\n" for line in lines)
    wire = b"".join(
        (b"." + line if line.startswith(b".") else line) + b"\r\n" for line in wire.split(b"\r\n")[:-1]
    )
    wire += b".\r\n"
    content, left = asyncio.run(read(split(wire + NEXT_COMMAND, cuts)))
    assert content == reference(wire)
    assert left == NEXT_COMMAND  # a pipelined command is not eaten


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", b""),
        (b"Subject: x\r\n\r\nhello\r\n", b"Subject: x\r\n\r\nhello\r\n"),
        (b"a\r\n.\r\nb\r\n", b"a\r\n.\r\nb\r\n"),  # a lone dot inside the content, stuffed
        (b".starts with a dot\r\n", b".starts with a dot\r\n"),
        (b"a\r\n\r\n\r\n", b"a\r\n\r\n\r\n"),
        (b"bare\nLF\n.\nnot an end\r\n", b"bare\nLF\n.\nnot an end\r\n"),
    ],
)
def test_dot_stuffing_is_undone(content: bytes, expected: bytes) -> None:
    got, left = asyncio.run(read([stuffed(content) + NEXT_COMMAND]))
    assert got == expected
    assert left == NEXT_COMMAND


def test_lines_longer_than_the_streams_limit_are_read_whole() -> None:
    line = b"x" * 10_000 + b"\r\n"
    content = b"Subject: long\r\n\r\n" + line + b".." + line
    got, left = asyncio.run(
        read([stuffed(content)[i : i + 997] for i in range(0, 30_000, 997)], stream_limit=64)
    )
    assert got == content
    assert left == b""


def test_more_than_the_limit_is_read_to_the_end_and_dropped() -> None:
    content = b"y" * 5_000 + b"\r\n"
    got, left = asyncio.run(read([stuffed(content) + NEXT_COMMAND], limit=4_000))
    assert got is None
    assert left == NEXT_COMMAND  # the client's terminator was waited for; the next command is intact


def test_content_of_exactly_the_limit_is_kept() -> None:
    content = b"z" * 98 + b"\r\n"
    got, _ = asyncio.run(read([stuffed(content)], limit=100))
    assert got == content
    over, _ = asyncio.run(read([stuffed(content + b"!")], limit=100))
    assert over is None


def test_a_closed_connection_ends_the_read_with_an_error() -> None:
    async def cut_short() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"half a message\r\n")
        reader.feed_eof()
        await DataReader(reader, None).read()

    with pytest.raises(asyncio.IncompleteReadError):
        asyncio.run(cut_short())
