"""Issue 15, items 3 and 10: deep nesting and huge part counts. Text is found at whatever depth it sits,
what was skipped is said in the text (so in the case and the hand-over), raw MIME is never the
resident's words, attachments are capped, and parsing work is bounded."""

from __future__ import annotations

import time

import pytest

from gateway.mail import parse
from gateway.mail.body import MAX_ATTACHMENTS, MAX_MIME_PARTS

TEXT = "Katuvalo on rikki Fleminginkadulla talon 12 kohdalla."


def nested(depth: int) -> bytes:
    out = ["From: m@example.fi\r\nTo: palaute@hel.example\r\nSubject: syva\r\nMIME-Version: 1.0\r\n"]
    out += [f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth)]
    out.append(f"Content-Type: text/plain; charset=utf-8\r\n\r\n{TEXT}\r\n")
    out += [f"--b{i}--\r\n" for i in reversed(range(depth))]
    return "".join(out).encode()


def many(parts: int) -> bytes:
    out = [
        "From: m@example.fi\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        f"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{TEXT}\r\n"
    ]
    out += [
        f"--B\r\nContent-Type: image/png\r\n"
        f'Content-Disposition: attachment; filename="k{i}.png"\r\n\r\nx{i}\r\n'
        for i in range(parts)
    ]
    out.append("--B--\r\n")
    return "".join(out).encode()


@pytest.mark.parametrize("depth", [1, 5, 29, 31, 60, 200, 1000, 3000])
def test_text_is_found_at_the_depth_it_sits(depth: int) -> None:
    msg = parse(nested(depth))
    if depth < MAX_MIME_PARTS:  # deeper than the part cap, the text is past what we read at all
        assert TEXT in msg.text and TEXT in msg.reply_text
    # Never MIME structure as the resident's words.
    assert "--b" not in msg.text and "Content-Type" not in msg.text and "boundary" not in msg.text
    assert len(msg.text) < 1000
    if depth > 30:
        assert "MIME parts skipped" in msg.text
    else:
        assert "skipped" not in msg.text


@pytest.mark.parametrize("count", [0, MAX_ATTACHMENTS, MAX_ATTACHMENTS + 1, 500, 10_000])
def test_attachments_are_capped_and_the_rest_counted(count: int) -> None:
    msg = parse(many(count))
    kept = min(count, MAX_ATTACHMENTS)
    assert len(msg.attachments) == kept
    assert TEXT in msg.text
    if count > MAX_ATTACHMENTS:
        assert msg.attachments_left_out + msg.skipped_parts >= count - kept
        assert "attachments left out" in msg.text
    else:
        assert msg.attachments_left_out == 0 and "left out" not in msg.text


def test_a_mail_of_470000_parts_parses_in_well_under_a_second() -> None:
    raw = many(470_000)
    started = time.perf_counter()
    msg = parse(raw)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, elapsed  # 15.6 s before (issue 15); about 0.2 s here
    assert len(msg.attachments) == MAX_ATTACHMENTS
    assert msg.skipped_parts >= 470_000 - MAX_MIME_PARTS
