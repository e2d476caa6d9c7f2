"""The recipients a delivery status notification reports on (RFC 3464 Final-Recipient), read safely."""

from __future__ import annotations

from email.message import Message
from email.parser import Parser

from gateway.mail.headers import decode_value, raw_values

_MAX_PARTS = 200  # a DSN has a handful of parts; never walk a hostile tree further


def final_recipients(msg: Message) -> tuple[str, ...]:
    """The addresses of every `Final-Recipient: rfc822; <address>` in the message/delivery-status parts
    of *msg*, lower-case. Never raises."""
    found: list[str] = []
    try:
        for number, part in enumerate(msg.walk()):
            if number > _MAX_PARTS:
                break
            if part.get_content_type() != "message/delivery-status":
                continue
            blocks = part.get_payload()
            # The parser makes a message of each block (per-message, then per-recipient fields); a
            # non-multipart reading leaves the text, which is parsed as fields the same way.
            if isinstance(blocks, str):
                blocks = [_fields(blocks)]
            for block in blocks if isinstance(blocks, list) else ():
                if isinstance(block, Message):
                    for raw in raw_values(block, "final-recipient"):
                        found.extend(_address(decode_value(raw)))
    except Exception:  # a damaged tree: what was found so far
        pass
    return tuple(dict.fromkeys(found))


def _fields(text: str) -> Message:
    return Parser().parsestr(text.replace("\r\n\r\n", "\r\n").replace("\n\n", "\n"), headersonly=True)


def _address(value: str) -> list[str]:
    """`rfc822; user@example.fi` -> ["user@example.fi"]; other address types are not ours to match."""
    kind, sep, address = value.partition(";")
    if not sep or kind.strip().lower() != "rfc822":
        return []
    address = address.strip().strip("<>").lower()
    return [address] if "@" in address else []
