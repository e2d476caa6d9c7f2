"""Redaction proposed before a moderator publishes a case in the open feedback column (issue 18).

Nothing personal may appear in the column, and a machine may not decide alone what is personal: `propose`
lists every piece of personal data it recognises in the public version of a question or an answer, a
moderator accepts or rejects each, and `apply` replaces the accepted ones with a word in the text's
language ("[sähköposti]", "[e-post]", "[email]"). The patterns and their checks are in proposal_patterns.py;
what is found and what is deliberately left alone is drawn up there and tested in
tests/casework/test_proposals.py.

Kinds, in the order that breaks a tie between two findings of the same length over the same text:

    identity-code           a henkilötunnus with a valid date and check character
    identity-code-invalid   the same shape with a real date and a wrong check character: not an identity
                            code, but a mistyped one still points at one person, so it is proposed
    email                   an address, also "nimi(at)example.fi" and "nimi at example dot fi"
    phone                   a Finnish or international number
    plate                   a Finnish registration plate (ABC-123; ABC123 after "rekisterinumero")
    street-address          a street name with a house number (a street alone is a public place)
    name                    a name the case knows (the resident's, the officials'), in its inflected forms:
                            the full name in any case, one of its words alone only with its capital

Findings never overlap: the longer one wins, then the more specific by the order above.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from gateway.casework import proposal_patterns as patterns
from gateway.errors import SenderFault

KINDS = (
    "identity-code", "identity-code-invalid", "email", "phone", "plate", "street-address", "name",
)  # fmt: skip

# What replaces an accepted finding, by the language of the text; an unknown language reads Finnish.
REPLACEMENTS: Mapping[str, Mapping[str, str]] = {
    "fi": {"identity-code": "[henkilötunnus]", "identity-code-invalid": "[henkilötunnus]",
           "email": "[sähköposti]", "phone": "[puhelinnumero]", "plate": "[rekisterinumero]",
           "street-address": "[osoite]", "name": "[nimi]"},
    "sv": {"identity-code": "[personbeteckning]", "identity-code-invalid": "[personbeteckning]",
           "email": "[e-post]", "phone": "[telefonnummer]", "plate": "[registreringsnummer]",
           "street-address": "[adress]", "name": "[namn]"},
    "en": {"identity-code": "[personal identity code]", "identity-code-invalid": "[personal identity code]",
           "email": "[email]", "phone": "[phone number]", "plate": "[registration number]",
           "street-address": "[address]", "name": "[name]"},
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # one of KINDS
    start: int  # offsets into the text, end exclusive
    end: int
    text: str  # the matched text: text[start:end]
    replacement: str  # what replaces it if accepted, in the text's language


Candidate = tuple[str, int, int]  # kind, start, end
Finder = Callable[[str, Sequence[str]], Iterable[Candidate]]


def _identity_codes(text: str, names: Sequence[str]) -> Iterable[Candidate]:
    for valid, (start, end) in patterns.identity_codes(text):
        yield ("identity-code" if valid else "identity-code-invalid"), start, end


def _simple(kind: str, find: Callable[[str], Iterable[patterns.Span]]) -> Finder:
    return lambda text, names: ((kind, start, end) for start, end in find(text))


# The finders, as data: each yields candidates that may overlap one another; _resolve picks among them.
FINDERS: tuple[Finder, ...] = (
    _identity_codes,
    _simple("email", patterns.emails),
    _simple("phone", patterns.phones),
    _simple("plate", patterns.plates),
    _simple("street-address", patterns.street_addresses),
    lambda text, names: (("name", start, end) for start, end in patterns.names_in(text, names)),
)


def propose(text: str, language: str = "fi", names: Sequence[str] = ()) -> list[Finding]:
    """Every piece of personal data found in *text*, in order, non-overlapping (the longer/more specific
    wins). *names* are the names the case knows: the resident's and the officials'."""
    words = REPLACEMENTS.get(language, REPLACEMENTS["fi"])
    candidates = [c for find in FINDERS for c in find(text, names) if c[1] < c[2]]
    return [Finding(kind, s, e, text[s:e], words[kind]) for kind, s, e in _resolve(candidates)]


def _resolve(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The longest candidates first, ties broken by KINDS' order, each kept if it overlaps none kept."""
    rank = {kind: i for i, kind in enumerate(KINDS)}
    starts: list[int] = []  # of the kept, sorted, with their ends in the same order
    ends: list[int] = []
    kept: dict[int, Candidate] = {}
    for kind, start, end in sorted(set(candidates), key=lambda c: (c[1] - c[2], rank[c[0]], c[1])):
        i = bisect.bisect_left(starts, start)
        if (i < len(starts) and starts[i] < end) or (i > 0 and ends[i - 1] > start):
            continue
        starts.insert(i, start)
        ends.insert(i, end)
        kept[start] = (kind, start, end)
    return [kept[start] for start in starts]


def apply(text: str, accepted: Sequence[Finding]) -> str:
    """*text* with the *accepted* findings replaced. Their offsets are those of *text* as it was proposed;
    a finding that no longer matches the text (the moderator edited it since) or that overlaps another is
    refused with a SenderFault: propose again rather than redact the wrong words."""
    pieces: list[str] = []
    at = 0
    for finding in sorted(set(accepted), key=lambda f: (f.start, f.end)):
        start, end = finding.start, finding.end
        where = f"{finding.kind} {finding.text!r} at {start}-{end}"
        if not 0 <= start < end <= len(text) or text[start:end] != finding.text:
            raise SenderFault(f"stale proposal: the text no longer has {where}")
        if start < at:
            raise SenderFault(f"overlapping proposals: {where}")
        pieces += (text[at:start], finding.replacement)
        at = end
    pieces.append(text[at:])
    return "".join(pieces)
