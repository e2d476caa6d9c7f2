"""Taking the official out of an answer before it reaches the resident: residents never see who answered.

Issue 15: the old rule dropped every line with the official's full name, and with it "Liisa Virtanen käy
tarkistamassa tilanteen huomenna." - the answer itself. Now the signature block goes, a line that is
only the name (or only the name and address) goes, and in any other line the name is replaced by a
neutral word ("käsittelijä", "handläggaren", "our staff") and the address by a marker, so the sentence
stays. What was taken out is returned, to be recorded on the case (docs/decisions/0021c-staff-redaction.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.notifier.wording import neutral_handler

# A line that only closes a letter: what follows it is a signature (name, title, direct number).
SIGN_OFF = re.compile(
    r"^(ystävällisin terveisin|ystävällisesti|parhain terveisin|terveisin|yst\.? ?terv\.?|t\.|"
    r"med vänlig(a)? hälsning(ar)?|vänliga hälsningar|hälsningar|mvh|"
    r"best regards|kind regards|warm regards|regards|best wishes|sincerely|br)[\s,.!]*$",
    re.IGNORECASE,
)
WORD = re.compile(r"[^\W\d_]+")
ADDRESS_REMOVED = {"fi": "[osoite poistettu]", "sv": "[adress borttagen]", "en": "[address removed]"}
SIGNATURE_TAIL = 5  # a line of only the name this near the end starts an unmarked signature block


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str  # what the resident gets
    removed: tuple[str, ...]  # what was taken out, line by line, for the case's record


def _stem(word: str) -> str:
    """Enough of a name word to find its Finnish and Swedish inflected forms: Virtanen/Virtasen,
    Kivi/Kiven, Berg/Bergs. A short word is matched whole."""
    if word.lower().endswith("nen") and len(word) > 5:
        return word[:-3]
    if len(word) > 4 and word[-1].lower() in "aeiouyäö":
        return word[:-1]
    return word


def name_pattern(name: str) -> re.Pattern[str] | None:
    """Two or more words of *name* in a row, in any order, inflected or not; None for a one-word name
    (a lone first name or surname is also a common word: "Kivi on siirretty" by Anna Kivi stays)."""
    words = sorted({w for w in WORD.findall(name) if len(w) > 1}, key=len, reverse=True)
    if len(words) < 2:
        return None
    alternatives = "|".join(rf"{re.escape(_stem(w))}[^\W\d_]{{0,4}}" for w in words)
    return re.compile(rf"(?<![^\W\d_])(?:{alternatives})(?:[\s,]+(?:{alternatives}))+(?![^\W\d_])", re.I)


# The genitive of the neutral word, for a name found inflected ("Liisa Virtasen mukaan", "Anna Bergs").
GENITIVE = {"fi": ("n", "käsittelijän"), "sv": ("s", "handläggarens")}


def _replacement(match: re.Match[str], name_words: set[str], language: str | None) -> str:
    word = neutral_handler(language)
    last = WORD.findall(match.group(0))[-1].lower()
    ending, genitive = GENITIVE.get(language or "fi", ("", word))
    if last not in name_words and ending and last.endswith(ending):
        word = genitive
    before = match.string[: match.start()].rstrip()
    return word[:1].upper() + word[1:] if not before or before[-1] in ".!?:" else word


def redact_handler(text: str, email: str, name: str, language: str | None = "fi") -> Redacted:
    """*text* (quotes and `-- ` signatures already gone, see reply.py) without the official in it."""
    lines = text.strip().splitlines()
    removed: list[str] = []
    for i, line in enumerate(lines):
        if i > 0 and SIGN_OFF.match(line.strip()):  # Outlook and phones sign without "-- "
            removed += (f"signature: {s.strip()}" for s in lines[i:] if s.strip())
            lines = lines[:i]
            break
    name_words = {w.lower() for w in WORD.findall(name)}
    pattern = name_pattern(name)
    marker = ADDRESS_REMOVED.get(language or "fi", ADDRESS_REMOVED["fi"])
    address = re.compile(re.escape(email), re.I) if email else None
    filled = [i for i, line in enumerate(lines) if line.strip()]
    kept: list[str] = []
    for i, line in enumerate(lines):
        bare = address.sub(" ", line) if address else line
        words = {w.lower() for w in WORD.findall(bare)}
        if line.strip() and (not words or (name_words and words <= name_words)):
            if i in filled[-SIGNATURE_TAIL:] and i != filled[0]:  # an unmarked signature: name, title, phone
                removed += (f"signature: {s.strip()}" for s in lines[i:] if s.strip())
                break
            removed.append(f"line: {line.strip()}")
            continue
        new = address.sub(marker, line) if address else line
        if pattern is not None:
            new = pattern.sub(lambda m: _replacement(m, name_words, language), new)
        if new != line:
            removed.append(f"replaced: {line.strip()}")
        kept.append(new)
    return Redacted("\n".join(kept).strip(), tuple(removed))
