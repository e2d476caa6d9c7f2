"""Signed bounce addresses (VERP with an HMAC): which of our mails a bounce returns, proven, not claimed.

Issue 15: any multipart/report from anyone counted as a bounce, and its quoted Message-IDs named the mail
that bounced, so a resident could silence a department. Now every mail of ours that goes out with an
envelope sender (hand-overs, answers, ...; receipts go with the null one, RFC 3834 3.3) carries a
reverse-path of its own, `palaute+bounce-<outbox id>-<mac>@hel.example`: a plus-address of our sender,
which the SMTP channel accepts like any plus-address of a city address. Only a server that tried to
deliver that one mail learns it, and a bounce is believed only when it comes with the null reverse-path
(RFC 5321 4.5.5) to such an address whose MAC checks (docs/decisions/0022a-outbound-bounces.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from gateway.notifier.reply_address import derive_key

_TAG = re.compile(r"bounce-([0-9]{1,18})-([0-9a-f]{20})")


def _mac(key: bytes, outbox_id: int) -> str:
    return hmac.new(key, f"bounce:{outbox_id}".encode(), hashlib.sha256).hexdigest()[:20]


def bounce_address(sender: str, outbox_id: int, secret: str) -> str:
    """The envelope sender for outbox row *outbox_id*: a signed plus-address of *sender*."""
    local, _, domain = sender.rpartition("@")
    base = local.partition("+")[0]
    return f"{base}+bounce-{outbox_id}-{_mac(derive_key(secret, 'bounce'), outbox_id)}@{domain}"


def signed_bounce(rcpt_tos: tuple[str, ...], mail_from: str | None, secret: str) -> int | None:
    """The outbox row a bounce returns: only with the null reverse-path (RFC 5321 4.5.5, "" here) to a
    signed bounce address among *rcpt_tos*; None for anything else, however much it looks like a DSN."""
    if mail_from != "":
        return None
    for address in rcpt_tos:
        if (found := bounced_outbox_id(address, secret)) is not None:
            return found
    return None


def bounced_outbox_id(address: str, secret: str) -> int | None:
    """The outbox row a signed bounce address names, or None when it is not one or its MAC is wrong."""
    local = address.strip().strip("<>").lower().rpartition("@")[0]
    match = _TAG.fullmatch(local.partition("+")[2])
    if match is None:
        return None
    outbox_id = int(match.group(1))
    # compare_digest on ASCII bytes: it raises on non-ASCII str (issue 15); the regex allows only hex.
    expected = _mac(derive_key(secret, "bounce"), outbox_id).encode()
    return outbox_id if hmac.compare_digest(match.group(2).encode(), expected) else None
