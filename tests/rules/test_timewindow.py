"""Parsing weekly time windows."""

from __future__ import annotations

import pytest

from gateway.rules import parse_window

D = 24 * 60


@pytest.mark.parametrize(
    ("text", "intervals"),
    [
        ("mon-fri 07:00-15:30", tuple((d * D + 420, d * D + 930) for d in range(5))),
        ("sat-sun", ((5 * D, 7 * D),)),
        (
            "22:00-06:00",
            ((0, 360), *((d * D + 1320, (d + 1) * D + 360) for d in range(6)), (6 * D + 1320, 7 * D)),
        ),
        ("fri 22:00-06:00", ((4 * D + 1320, 5 * D + 360),)),
        ("sun 22:00-06:00", ((0, 360), (6 * D + 1320, 7 * D))),
        (
            "fri-mon 10:00-11:00",
            ((600, 660), (4 * D + 600, 4 * D + 660), (5 * D + 600, 5 * D + 660), (6 * D + 600, 6 * D + 660)),
        ),
        ("mon,wed 10:00-12:00", ((600, 720), (2 * D + 600, 2 * D + 720))),
        ("ma-pe 8.00-16.00", tuple((d * D + 480, d * D + 960) for d in range(5))),
        ("sat 00:00-24:00", ((5 * D, 6 * D),)),
    ],
)
def test_parse_window(text: str, intervals: tuple[tuple[int, int], ...]) -> None:
    assert parse_window(text).intervals == intervals


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("weekdays", "cannot read days"),
        ("mon-fri 7-15", "cannot read hours"),
        ("mon-fri 07:00-24:30", "no such time"),
        ("10:00-10:00", "empty time window"),
        ("", "expected a time window"),
        (450, "expected a time window"),  # YAML 1.1 reads an unquoted 7:30 as 450
    ],
)
def test_parse_window_rejects(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_window(text)
