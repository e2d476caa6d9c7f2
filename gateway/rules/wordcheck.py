"""Which rule words are common words of one of the city's languages, from the shipped lists (issue 15).

The Swedish `is` ("ice") is the English "is", and `tie*` (Finnish "road") also matches the Finnish
"tietää": a word like that matches ordinary feedback that is about something else. The lists in
`common_words/` hold the most frequent words of each language the gateway detects (fi, sv, en; see
gateway/mail/language.py); check-config warns about a word that applies in every language and is one
of them, or a prefix that covers one.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

LANGUAGE_NAMES = {"fi": "Finnish", "sv": "Swedish", "en": "English"}
SHOWN = 3  # common words named in one warning


@functools.cache
def common_words() -> Mapping[str, tuple[str, ...]]:
    """Language code → its common words, casefolded and sorted; read once from the package data."""
    found: dict[str, tuple[str, ...]] = {}
    for entry in resources.files("gateway.rules").joinpath("common_words").iterdir():
        if not entry.name.endswith(".txt"):
            continue
        lines = entry.read_text(encoding="utf-8").splitlines()
        words = {line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")}
        found[entry.name.removesuffix(".txt")] = tuple(sorted(words))
    return MappingProxyType(dict(sorted(found.items())))


def covered(entry: str, words: tuple[str, ...]) -> list[str]:
    """The words of sorted *words* that rule word *entry* (``is`` or ``tie*``) matches."""
    stem = entry.removesuffix("*")
    i = bisect_left(words, stem)
    if not entry.endswith("*"):
        return [stem] if i < len(words) and words[i] == stem else []
    out: list[str] = []
    while i < len(words) and words[i].startswith(stem):
        out.append(words[i])
        i += 1
    return out


def common_word_warning(entry: str) -> str | None:
    """Why *entry*, a word for every language, matches much ordinary feedback; None when it does not."""
    lists = common_words()
    found = {lang: hits for lang, words in lists.items() if (hits := covered(entry, words))}
    if not found:
        return None
    if entry.endswith("*"):
        parts = []
        for language, hits in found.items():
            shown = ", ".join(repr(w) for w in hits[:SHOWN]) + (" ..." if len(hits) > SHOWN else "")
            kind = f"a common {_name(language)} word" if len(hits) == 1 else f"common {_name(language)} words"
            parts.append(f"{shown}, {kind}")
        what = "matches " + "; ".join(parts)
    else:
        what = "is a common " + " and ".join(_name(lang) for lang in found) + " word"
    codes = ", ".join(lists)
    return (
        f"{entry!r} {what}; limit it to the language it is meant in "
        f"(words: {{xx: [{entry}]}}, xx one of {codes}) or drop it"
    )


def _name(language: str) -> str:
    return LANGUAGE_NAMES.get(language, language)
