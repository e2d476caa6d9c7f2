"""Authentication-Results (RFC 8601): did our own mail server see a DKIM or DMARC pass for the sender?

Only the results of a server we trust count (its authserv-id is the setting `trusted_authserv_id`); the
server must remove headers that claim its authserv-id from arriving mail (RFC 8601 section 5), or a
stranger could write one. A pass counts for the From domain when the DKIM signing domain (`header.d`,
else the domain of `header.i`) or DMARC's `header.from` is that domain or a parent of it (the relaxed
alignment of RFC 7489 section 3.1.1, without the public-suffix lookup).
"""

from __future__ import annotations

import re

_COMMENT = re.compile(r"\([^()]*\)")
_METHOD = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z0-9_-]+)", re.I)
_PROPERTY = re.compile(r"\b([a-z0-9_-]+\.[a-z0-9_-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.I)


def _aligned(domain: str, from_domain: str) -> bool:
    domain = domain.strip().strip('"').lstrip("@").lower().rstrip(".")
    return bool(domain) and (from_domain == domain or from_domain.endswith("." + domain))


def results(value: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """The authserv-id of one header value and its (method, result, properties) in order."""
    for _ in range(5):  # comments may nest; a few rounds remove what mail servers write
        value = _COMMENT.sub(" ", value)
    head, *resinfos = value.split(";")
    authserv_id = head.split()[0].lower() if head.split() else ""
    found = []
    for resinfo in resinfos:
        m = _METHOD.match(resinfo)
        if m is None:
            continue
        props = {k.lower(): v.strip('"') for k, v in _PROPERTY.findall(resinfo[m.end() :])}
        found.append((m.group(1).lower(), m.group(2).lower(), props))
    return authserv_id, found


def authenticated(values: tuple[str, ...], trusted_authserv_id: str, from_address: str) -> bool:
    """Whether a header of *trusted_authserv_id* among *values* reports a DKIM or DMARC pass for the
    domain of *from_address*."""
    from_domain = from_address.rpartition("@")[2].lower().rstrip(".")
    trusted = trusted_authserv_id.strip().lower()
    for value in values:
        authserv_id, found = results(value)
        if authserv_id != trusted:
            continue
        for method, result, props in found:
            if result != "pass":
                continue
            if method == "dkim":
                signer = props.get("header.d") or props.get("header.i", "").rpartition("@")[2]
                if _aligned(signer, from_domain):
                    return True
            if method == "dmarc" and _aligned(props.get("header.from", ""), from_domain):
                return True
    return False
