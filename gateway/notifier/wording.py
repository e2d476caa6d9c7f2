"""The words a person reads for our enum values: a status, a priority, a channel, a language (issue 15:
"Kiireellisyys: normal" put an English word into the Finnish hand-over). Templates get these, never the
stored value; an unknown value (a priority a later rules.yaml adds) is shown as it is."""

from __future__ import annotations

import re
from collections.abc import Mapping

_WORDS: Mapping[str, Mapping[str, Mapping[str, str]]] = {
    "status": {
        "fi": {"new": "uusi", "routed": "käsittelyssä", "waiting": "odottaa palautteen antajaa",
               "answered": "vastattu", "closed": "suljettu"},
        "sv": {"new": "ny", "routed": "under behandling", "waiting": "väntar på avsändaren",
               "answered": "besvarad", "closed": "avslutad"},
        "en": {"new": "new", "routed": "being handled", "waiting": "waiting for the resident",
               "answered": "answered", "closed": "closed"},
    },
    "priority": {
        "fi": {"low": "matala", "normal": "tavallinen", "high": "korkea", "urgent": "kiireellinen"},
        "sv": {"low": "låg", "normal": "normal", "high": "hög", "urgent": "brådskande"},
        "en": {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"},
    },
    "channel": {
        "fi": {"smtp": "sähköposti", "imap": "sähköposti (postilaatikko)", "web": "verkkopalvelu",
               "open311": "Open311-sovellus", "phone": "puhelin", "walk-in": "asiointipiste"},
        "sv": {"smtp": "e-post", "imap": "e-post (brevlåda)", "web": "webbtjänsten",
               "open311": "Open311-app", "phone": "telefon", "walk-in": "servicepunkt"},
        "en": {"smtp": "email", "imap": "email (mailbox)", "web": "web service",
               "open311": "Open311 app", "phone": "phone", "walk-in": "service desk"},
    },
    "language": {
        "fi": {"fi": "suomi", "sv": "ruotsi", "en": "englanti"},
        "sv": {"fi": "finska", "sv": "svenska", "en": "engelska"},
        "en": {"fi": "Finnish", "sv": "Swedish", "en": "English"},
    },
}  # fmt: skip

# Who answered, when an official's name is taken out of an answer (issue 15, decision 0021c).
NEUTRAL_HANDLER = {"fi": "käsittelijä", "sv": "handläggaren", "en": "our staff"}


def word(kind: str, value: object, language: str | None) -> str:
    """*value* of enum *kind* in *language* (Finnish when the language is unknown); "-" for none."""
    if value is None or value == "":
        return "-"
    table = _WORDS[kind].get(language or "fi", _WORDS[kind]["fi"])
    return table.get(str(value), str(value))


def neutral_handler(language: str | None) -> str:
    return NEUTRAL_HANDLER.get(language or "fi", NEUTRAL_HANDLER["fi"])


# Our greeting in a relayed answer, left out when the answer opens with one of its own (issue 15: "Hei,"
# twice). A greeting is a first line that starts with one of these words and is short.
GREETING = {"fi": "Hei,\n\n", "sv": "Hej,\n\n", "en": "Hello,\n\n"}
_GREETING_START = re.compile(
    r"^(?:hei|heippa|moi|moikka|terve|tervehdys|hyvä|arvoisa|hyvää\s+(?:päivää|huomenta|iltaa)|päivää"
    r"|hej|hejsan|hallå|bästa|kära|god\s+(?:dag|morgon|kväll)|goddag"
    r"|hello|hi|hey|dear|good\s+(?:morning|afternoon|evening|day)|greetings)\b",
    re.IGNORECASE,
)


def opens_with_greeting(text: str) -> bool:
    """Whether *text* (an answer) begins with a greeting line of its own, in Finnish, Swedish or English."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return len(first) <= 80 and _GREETING_START.match(first) is not None


def greeting(answer: str, language: str | None) -> str:
    return "" if opens_with_greeting(answer) else GREETING.get(language or "fi", GREETING["fi"])
