"""Hostile headers (issue 15, item 11 and the token compare): the sender is the addr-spec in the angle
brackets of a strictly parsed From, an address we would write to is an addr-spec, and a non-ASCII
token or loop mark is simply wrong."""

from __future__ import annotations

import pytest

from gateway.mail import parse
from gateway.mail.headers import is_addr_spec
from gateway.notifier.compose import Identity, is_our_loop_marker, loop_marker
from gateway.notifier.reply_address import reply_address, verified_code


@pytest.mark.parametrize(
    ("from_header", "email"),
    [
        ("=?utf-8?q?Evil=0D=0ABcc:_victim@evil.example?= <inj@example.fi>", "inj@example.fi"),
        (
            "=?utf-8?q?Evil=0D=0ABcc:_victim@evil.example=0D=0AX-Injected:_1?= <inj@example.fi>",
            "inj@example.fi",
        ),
        ("=?utf-8?b?RXZpbA0KQmNjOiB2aWN0aW1AZXZpbC5leGFtcGxl?= <inj@example.fi>", "inj@example.fi"),
        ("=?utf-8?q?a=2C_victim@evil.example?= <inj@example.fi>", "inj@example.fi"),
        ("=?utf-8?q?victim@evil.example?= <inj@example.fi>", "inj@example.fi"),
        ("=?utf-8?q?<victim@evil.example>?= <inj@example.fi>", "inj@example.fi"),
        ('"victim@evil.example" <inj@example.fi>', "inj@example.fi"),
        ('"Evil, Bcc: victim@evil.example" <inj@example.fi>', "inj@example.fi"),
        ("Evil <inj@example.fi>\r\n\tBcc: victim@evil.example", "inj@example.fi"),
        ("=?utf-8?q?Matti_Meik=C3=A4l=C3=A4inen?= <Matti@Example.FI>", "matti@example.fi"),
    ],
)
def test_the_sender_is_the_address_in_the_angle_brackets(from_header: str, email: str) -> None:
    msg = parse(f"From: {from_header}\r\nSubject: x\r\n\r\nKatuvalo on rikki.\r\n".encode())
    assert msg.sender.email == email
    assert is_addr_spec(msg.sender.email)


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("matti@example.fi", True),
        ("matti.meikalainen+tag@sub.example.fi", True),
        ("o'brien@example.ie", True),
        ('"quoted local"@example.fi', True),
        ("mätti@esimerkki.fi", True),
        ("_victim@evil.example=0d=0ax-injected", False),
        ("_victim@evil.example?=", False),
        ("victim@evil.example\r\nbcc: x@y.z", False),
        ("victim@evil.example\n", False),
        ("a b@example.fi", False),
        ("victim@evil_example.fi", False),
        ("victim@-evil.example", False),
        ("victim@evil.example.", False),
        ("victim@localhost", False),
        (".victim@example.fi", False),
        ("vic..tim@example.fi", False),
        ("victim@@example.fi", False),
        ("<victim@example.fi>", False),
        ('"a\r\nb"@example.fi', False),
        ("x" * 250 + "@example.fi", False),
        ("", False),
    ],
)
def test_only_an_addr_spec_is_an_address_we_write_to(address: str, valid: bool) -> None:
    assert is_addr_spec(address) is valid


@pytest.mark.parametrize("token", ["ä" * 16, "\udcff" * 16, "tökén", "ﬀ", ""])
def test_a_non_ascii_reply_token_is_wrong_not_a_crash(token: str) -> None:
    good = reply_address("palaute@hel.example", "HEL-7K3M-Q9TD", "talvi", "s" * 32)
    assert verified_code(good, "talvi", "s" * 32) == "HEL-7K3M-Q9TD"
    forged = good.replace(good.split(".")[1].split("@")[0], token)
    assert verified_code(forged, "talvi", "s" * 32) is None


@pytest.mark.parametrize("value", ["hel.example ä", "hel.example \udcff\udcfe", "ö" * 40, ""])
def test_a_non_ascii_loop_header_is_not_ours_not_a_crash(value: str) -> None:
    identity = Identity("palaute@hel.example", "Palaute", "hel.example", "s" * 32)
    assert is_our_loop_marker(identity, "m@hel.example", loop_marker(identity, "m@hel.example"))
    assert not is_our_loop_marker(identity, "m@hel.example", value)
