"""Every header we write fits RFC 5322's line limits, whatever subject a stranger sent (issue 15, item 9)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from gateway.model import Address, Attachment
from gateway.notifier.compose import SUBJECT_ECHO, Identity, compose, echo_subject
from gateway.notifier.templates import LANGUAGES, SHIPPED, Templates

IDENTITY = Identity("palaute@hel.example", "Helsingin kaupunki", "hel.example", "s" * 32)
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
KINDS = sorted(p.stem for p in (SHIPPED / "fi").glob("*.txt"))  # every kind of mail we send
HOSTILE = {
    "ascii-1100-no-spaces": "A" * 1100,
    "ascii-100k": "x" * 100_000,
    "ascii-words": "CHEAP PILLS http://spam.example/" + " buy now" * 400,
    "non-ascii": "Pöö lunta kadulla Hakaniemessä " * 300,
    "non-ascii-no-spaces": "ä" * 5000,
    "encoded-words": "=?utf-8?q?Evil=0D=0ABcc:_victim@evil.example?= " * 60,
    "emoji-and-cjk": "雪🚧" * 2000,
    "short": "Lunta kadulla",
}


def _values(subject: str) -> dict[str, str]:
    names = set()
    for language in LANGUAGES:
        for path in (SHIPPED / language).glob("*.txt"):
            names |= set(re.findall(r"\$(\w+)", path.read_text(encoding="utf-8")))
    values = dict.fromkeys(names, "HEL-7K3M-Q9TD")
    values["subject"] = subject
    return values


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_line_fits_and_the_capped_subject_round_trips(kind: str, language: str, hostile: str) -> None:
    rendered = Templates().render(kind, language, **_values(hostile))
    raw = compose(
        IDENTITY,
        to=Address("matti@example.fi", hostile[:3000]),
        subject=rendered.subject,
        body=rendered.body,
        message_id="receipt.abc@hel.example",
        date=NOW,
        in_reply_to="x" * 2000 + "@evil.example",  # a stranger's Message-ID of any length
        references=("a" * 1500 + "@evil.example", "ok@example.fi"),
        reply_to="palaute+hel-7k3m-q9td.token@hel.example",
        language=language,
        attachments=(Attachment(hostile[:2000] + ".pdf", "application/pdf", 3, b"pdf"),),
    )
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    head = raw.partition(b"\r\n\r\n")[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    subject = str(parsed["subject"])
    echoed = echo_subject(hostile)
    assert len(echoed) <= SUBJECT_ECHO
    if "$subject" in (SHIPPED / language / f"{kind}.txt").read_text(encoding="utf-8").splitlines()[0]:
        assert echoed in subject, subject[:300]
    assert subject == " ".join(rendered.subject.split()).rstrip()
    assert parsed["to"].addresses[0].addr_spec == "matti@example.fi"
    assert parsed.defects == []


def test_a_short_subject_is_written_as_it_is() -> None:
    raw = compose(
        IDENTITY, to=Address("m@example.fi", "Matti"), subject="[HEL-7K3M-Q9TD] Lunta kadulla",
        body="x", message_id="a@hel.example", date=NOW,
    )  # fmt: skip
    assert b"\r\nSubject: [HEL-7K3M-Q9TD] Lunta kadulla\r\n" in raw
    assert b"\r\nTo: Matti <m@example.fi>\r\n" in raw


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a" * 200, "a" * 200), ("a" * 201, "a" * 199 + "\u2026"), ("  two\r\n lines ", "two lines")],
)
def test_echo_subject_caps_with_an_ellipsis(text: str, expected: str) -> None:
    assert echo_subject(text) == expected
