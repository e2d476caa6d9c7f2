"""Amplification and backscatter (issue 15): receipts repeat no stranger's subject unless our mail server
authenticated the sender, and new cases beyond a limit per sender and per client address an hour are kept
and handed over but get no receipt. Over smtplib against the running daemon."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.store.tables import case_events, cases
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import all_cases, count, forward_mail, make_mail, receipt_mail, send, settled

SPAM = "CHEAP PILLS http://spam.example/buy"
TRUSTED = "mx.hel.example"

AUTH_RESULTS = {
    # Authentication-Results header (or none) -> whether the receipt may repeat the subject
    "none": (None, False),
    "untrusted-authserv-id": ("mx.evil.example; dkim=pass header.d=example.fi; dmarc=pass", False),
    "trusted-but-dkim-fails": (f"{TRUSTED}; dkim=fail header.d=example.fi; spf=pass", False),
    "trusted-pass-for-another-domain": (f"{TRUSTED}; dkim=pass header.d=evil.example", False),
    "trusted-spf-pass-only": (f"{TRUSTED}; spf=pass smtp.mailfrom=example.fi", False),
    "trusted-dkim-pass": (f"{TRUSTED}; dkim=pass header.d=example.fi", True),
    "trusted-dmarc-pass": (f"{TRUSTED} (comment); dmarc=pass header.from=example.fi", True),
}  # fmt: skip


@pytest.mark.parametrize(("header", "echoed"), AUTH_RESULTS.values(), ids=AUTH_RESULTS.keys())
def test_the_receipt_repeats_a_subject_only_to_an_authenticated_sender(
    start_gateway: Callable[..., RunningDaemon], header: str | None, echoed: bool
) -> None:
    gateway = start_gateway(trusted_authserv_id=TRUSTED)
    extra = {"Authentication_Results": header} if header else {}
    send(gateway.port, make_mail(subject=SPAM, body="Osta nyt, halvalla, lunta kadulla.", **extra))
    [receipt] = wait_for(lambda: receipt_mail(gateway.maildir), what="the receipt")
    [case] = all_cases(gateway.db)
    subject = str(receipt["Subject"])
    assert case.code in subject
    assert (SPAM in subject) is echoed
    assert ("spam.example" in receipt.as_string()) is echoed
    assert case.subject == SPAM  # the case keeps it: staff see what was written


def test_without_a_trusted_server_no_receipt_repeats_a_subject(gateway: RunningDaemon) -> None:
    header = "mx.hel.example; dkim=pass header.d=example.fi"
    send(gateway.port, make_mail(subject=SPAM, Authentication_Results=header))
    [receipt] = wait_for(lambda: receipt_mail(gateway.maildir), what="the receipt")
    assert SPAM not in str(receipt["Subject"])


LIMITS = {
    "per-sender": ({"new_cases_per_sender_per_hour": 2}, lambda i: "matti@example.fi"),
    "per-client": ({"new_cases_per_client_per_hour": 2}, lambda i: f"asukas{i}@example.fi"),
}


@pytest.mark.parametrize(("limit", "sender"), LIMITS.values(), ids=LIMITS.keys())
def test_new_cases_beyond_the_limit_are_kept_and_handed_over_without_a_receipt(
    start_gateway: Callable[..., RunningDaemon], limit: dict[str, int], sender: Callable[[int], str]
) -> None:
    gateway = start_gateway(notices_per_recipient_per_hour=100, **limit)
    for i in range(5):
        send(
            gateway.port,
            make_mail(sender=sender(i), subject=f"Lunta {i}", body=f"Lunta kadulla {i}, aurattu?"),
        )
    wait_for(lambda: count(gateway.db, cases) == 5 and settled(gateway.db), what="five cases")
    assert len(receipt_mail(gateway.maildir)) == 2  # nothing accepted is lost: five cases, two receipts
    assert len(forward_mail(gateway.maildir)) == 5  # every case still reaches its department
    notes = count(
        gateway.db, case_events, case_events.c.kind == "note", case_events.c.text.like("no receipt:%")
    )
    assert notes == 3
