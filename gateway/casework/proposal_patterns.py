"""The shapes of personal data in feedback text, for proposals.py: each finder takes the text and yields the
spans it recognises; what a pattern cannot say (a phone number's length and prefix, an identity code's date
and check character, a name's Finnish inflections) is checked here in code. Pure, compiled once.

Every finder errs towards proposing: a person accepts or rejects each proposal before anything is published
(issue 18), but an over-eager one still costs the moderator a click, so the negatives are tested as hard as
the positives (tests/casework/test_proposals.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date

Span = tuple[int, int]  # offsets into the text, end exclusive

L = r"[^\W\d_]"  # one letter of any script
D = r"[0-9]"  # ASCII only: \d would take Arabic-Indic digits for a phone number

# -- email --------------------------------------------------------------------------------------------------
# "@" or the Finnish-site habit "(at)"/"[at]", and "." or "(dot)"/"(piste)"; the spoken form "nimi at
# example dot fi" only with a spoken dot too ("look at hel.fi" is no address).
_AT = r"(?:@|\s?[(\[{]\s?(?:at|ät)\s?[)\]}]\s?)"
_DOT = r"(?:\.|\s?[(\[{]\s?(?:dot|piste|punkt)\s?[)\]}]\s?)"
EMAIL = re.compile(
    rf"(?<![\w.%+-])[\w%+-]+(?:\.[\w%+-]+)*{_AT}(?:[^\W_][\w-]*{_DOT})+{L}{{2,}}(?![\w-])", re.I
)
SPOKEN_EMAIL = re.compile(
    rf"(?<![\w.+-])[\w.+-]*\w\s(?:at|ät)\s(?:[\w-]+\s(?:dot|piste|punkt)\s)+{L}{{2,}}(?!\w)", re.I
)


def emails(text: str) -> Iterator[Span]:
    for pattern in (EMAIL, SPOKEN_EMAIL):
        yield from (m.span() for m in pattern.finditer(text))


# -- phone numbers ------------------------------------------------------------------------------------------
# A run of digit groups joined by one space or dash, "(09)" and "(0)" included; which stretch of the run is a
# number is decided in code: the first group must be a Finnish prefix or "+"/"00" and a country code, later
# groups have at least two digits, and the digit count fits. "4.12.2026", "12:30", "1 500 euroa",
# "2026-12-04", "00100", "bussi 550" and "FI21 1234 5600 0007 85" are no phone numbers.
_GROUP = rf"(?:\({D}{{1,4}}\)|{D}+)"
PHONE_RUN = re.compile(rf"(?<![\w+])\+?{_GROUP}(?:(?:[ \u00a0\-–]|(?<=\))|(?=\()){_GROUP})*")
PHONE_GROUP = re.compile(rf"\(?{D}+\)?")
# Area codes 02-09 and 013-019, mobile 04x and 050, national and service numbers 010, 020x, 029, 030,
# 0600, 07xx, 0800 (Traficom's numbering plan, simplified).
FI_PREFIX = re.compile(r"0(?:[235689][0-9]{0,2}|1[03-9][0-9]?|4[0-9]{1,2}|50[0-9]?|7[0-9]{1,2}|[68]00)")
_BEFORE_IS_NUMBER = re.compile(r"[0-9][.,:/ \u00a0\-–]")  # "FI21 0400 ...", "4.12.2026 ..."
_AFTER_IS_NUMBER = re.compile(rf"(?:{L}|[.,:/][0-9])")  # "4567abc", "09.30", "040 123.50"
NATIONAL = (7, 10, 11)  # digits: least, usual most, most (0 + 04x + up to 8 digits)
INTERNATIONAL = (8, 12, 15)  # E.164: at most 15 with the country code
MOST_GROUPS = 8  # "+46 8 12 34 56 78" and no more: a longer run is read a stretch at a time


def _phone_digits(groups: Sequence[str]) -> tuple[str, tuple[int, int, int]] | None:
    """The digits of *groups* if they read as one phone number, with the bounds its length must keep."""
    bare = [g.strip("()") for g in groups]
    first = groups[0]
    if first.startswith("+") or first.startswith("00"):
        country = first[1:] if first.startswith("+") else first[2:]
        rest = [b for g, b in zip(groups[1:], bare[1:], strict=True) if g != "(0)"]
        if not country or country[0] == "0" or any(len(b) < 2 for b in rest[1:]):
            return None
        if first.startswith("00") and rest and rest[0].startswith("0"):  # "00100 040 ..." is a postcode
            return None
        return country + "".join(rest), INTERNATIONAL
    if len(groups) > 1 and not FI_PREFIX.fullmatch(bare[0]):
        return None
    if not FI_PREFIX.match(bare[0]) or any(len(b) < 2 for b in bare[1:]):
        return None
    if len(bare) > 1 and len(bare[1]) < 3:  # "09-12-2026", "klo 09-16"
        return None
    return "".join(bare), NATIONAL


def _phone_end(groups: Sequence[str]) -> int:
    """How many of *groups* make the phone number: the longest of usual length, else the longest that fits;
    0 if none does ("040 123 4567 15 kpl" ends before "15")."""
    fits = 0
    for j in range(len(groups), 0, -1):
        read = _phone_digits(groups[:j])
        if read is not None:
            digits, (least, usual, most) = read
            if least <= len(digits) <= usual:
                return j
            if least <= len(digits) <= most and not fits:
                fits = j
    return fits


def phones(text: str) -> Iterator[Span]:
    for run in PHONE_RUN.finditer(text):
        at = run.start()
        found = [(m.group(0), at + m.start(), at + m.end()) for m in PHONE_GROUP.finditer(run.group(0))]
        if run.group(0).startswith("+"):
            found[0] = ("+" + found[0][0], at, found[0][2])
        if _AFTER_IS_NUMBER.match(text, run.end()):
            found.pop()
        i = 1 if _BEFORE_IS_NUMBER.fullmatch(text, max(0, at - 2), at) else 0
        while i < len(found):
            j = i + _phone_end([g for g, _, _ in found[i : i + MOST_GROUPS]])
            if j > i:
                yield found[i][1], found[j - 1][2]
                i = j
            else:
                i += 1


# -- Finnish personal identity codes ------------------------------------------------------------------------
IDENTITY_CODE = re.compile(rf"(?<!\w)({D}{{6}})([-+A-FU-Y])({D}{{3}})([0-9A-Z])(?!\w)", re.I)
CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURIES = {"+": 1800, "-": 1900, **dict.fromkeys("UVWXY", 1900), **dict.fromkeys("ABCDEF", 2000)}


def identity_code_check(code: str) -> bool | None:
    """True for a valid henkilötunnus, False for one with a real date and a wrong check character (a
    mistyped code still points at one person), None for anything else."""
    m = IDENTITY_CODE.fullmatch(code)
    if m is None:
        return None
    birth, sign, serial, check = m.group(1), m.group(2).upper(), m.group(3), m.group(4).upper()
    try:
        date(CENTURIES[sign] + int(birth[4:]), int(birth[2:4]), int(birth[:2]))
    except ValueError:
        return None
    if check not in CHECK_CHARACTERS:
        return None
    return CHECK_CHARACTERS[int(birth + serial) % 31] == check


def identity_codes(text: str) -> Iterator[tuple[bool, Span]]:
    for m in IDENTITY_CODE.finditer(text):
        valid = identity_code_check(m.group(0))
        if valid is not None:
            yield valid, m.span()


# -- car registration plates --------------------------------------------------------------------------------
# Two or three capitals, a dash, one to three digits: ABC-123, AB-12, ABC-1. One letter is too little ("E-18"
# is a road, "A-5" a paper size); "KE-1" is taken, as is any plate-shaped abbreviation not in NOT_PLATES.
PLATE = re.compile(r"(?<![\w-])([A-ZÅÄÖ]{2,3})-[0-9]{1,3}(?![\w-])")
NOT_PLATES = frozenset({"EU", "EN", "ETA", "ISO", "SFS", "YK", "EY", "SM", "MM", "OS"})
# Without the dash ("ABC123", "ABC 123") only after a word that says it is a plate.
PLATE_AFTER_WORD = re.compile(
    r"(?i:\b(?:rekisteri\w*|rekkari\w*|rek\.?\s?nro|reg(?:\.|istr\w*(?:\s+number)?)?(?:\s?nr\.?)?"
    r"|(?:number|licen[cs]e)\s+plate|nummerplåt\w*|numerokil\w*)[\s:.]+(?:(?:on|oli|är|var|is|was)\s+)?)"
    r"(?P<plate>[A-ZÅÄÖ]{2,3}[\s-]?[0-9]{1,3}|(?i:[a-zåäö]{2,3}-?[0-9]{1,3}))(?![\w-])"
)


def plates(text: str) -> Iterator[Span]:
    yield from (m.span() for m in PLATE.finditer(text) if m.group(1) not in NOT_PLATES)
    yield from (m.span("plate") for m in PLATE_AFTER_WORD.finditer(text))


# -- street addresses with a house number -------------------------------------------------------------------
# A street name is a capitalised word with a street ending, in a Finnish case too ("Mannerheimintiellä");
# it needs at least one letter before the ending ("Rinne", "Mäki", "Kallio" are surnames). -niemi and -linja
# are left out (surnames, "Bussilinja 550"); the Helsinki "Toinen linja" is named.
_FI_END = (
    r"ka[td]u|tie(?!s(?![^\W\d_]))|kuja|pol(?:ku|u)|väylä|ran(?:ta|na)|puistik(?:ko|o)|(?<![tkc])tori|kaar[ie]"
    r"|kaar(?:re|tee)|rin(?:ne|te)|port(?:ti|i)|piha|aukio|kallio|mä(?:ki|e|ke)|rai(?:tti|ti)|bulevard|esplanad"
)
_SV_END = r"gatan|vägen|gränden|stigen|kajen|torget|backen|bågen|parken|allén|esplanaden"
_QUALIFIER = (
    r"(?:Pohjoinen|Eteläinen|Itäinen|Läntinen|Pieni|Iso|Vanha|Uusi|Ensi|Toinen|Kolmas|Neljäs|Viides|Norra"
    r"|Södra|Östra|Västra|Lilla|Stora|Gamla|Nya)\s"
)
_STREET = (
    rf"(?:{_QUALIFIER})?[A-ZÅÄÖ](?:{L}|-(?={L}))+?(?:{_FI_END}|{_SV_END}){L}{{0,5}}"
    rf"|{_QUALIFIER}(?:{_FI_END}|{_SV_END}|linja){L}{{0,5}}|(?:Bulevardi|Esplanadi){L}{{0,5}}"
    r"|(?:[A-Z][a-z]+\s){1,3}(?:Street|Road|Avenue|Lane|Drive|Square)"
)
# A number that counts something is no house number: "Mannerheimintiellä 5 autoa", "Hämeentien 3 kaistaa".
_UNIT = (  # a one-letter unit in lower case only: "Hämeentie 3 E" is staircase E
    r"%|€|(?:e|m|km|cm|mm|kg|h|min|s|kpl|v)(?![^\W\d_])|(?i:metr|kilometr|kaist|kert|kerra|minuut|tunn|tunt"
    r"|sekun|päiv|viik|kuuka|vuot|vuod|vuon|euro|auto|bus|pyör|henk|ihmi|aste|laps|meter|gång|minut|timm|dag"
    r"|veck|år(?![^\W\d_])|bil|körfält|metre|minute|hour|time|year|car|lane|people|person|degree)"
)
_NUMBER = rf"[0-9]{{1,4}}(?![0-9])(?![.,:][0-9])(?!\s?(?:{_UNIT}))"
_HOUSE = (
    rf"{_NUMBER}(?:\s?[-–]\s?[0-9]{{1,4}}(?![0-9]))?"  # 8–10
    rf"(?:(?:[a-zåäö]|\s?[A-ZÅÄÖ])(?!{L})(?:\s?[0-9]{{1,3}}(?![0-9]))?)?"  # 12 B 34, 3a
    r"(?:,?\s(?:as\.?|asunto|lgh\.?|bst\.?|apt\.?)\s?[0-9]{1,4}(?![0-9]))?"  # 3 as. 5, 3 lgh 1201
)
STREET_ADDRESS = re.compile(
    rf"(?<!{L})(?:(?:{_STREET})[ \u00a0]+{_HOUSE}"
    rf"|[0-9]{{1,4}}[A-Za-z]?\s(?:[A-Z][a-z]+\s){{1,3}}(?:Street|Road|Avenue|Lane|Drive|Square)(?!{L}))"
)


def street_addresses(text: str) -> Iterator[Span]:
    yield from (m.span() for m in STREET_ADDRESS.finditer(text))


# -- names the case knows -----------------------------------------------------------------------------------
# A name word and its Finnish case forms, singular and plural, with a clitic: Virtanen, Virtasen, Virtaselle,
# Virtasten; Liisa, Liisalle; Matti, Matin; Lahti, Lahden; Berg, Bergin, Bergs. A closed list of endings,
# not "any four letters" (redact.py's gap: Virtaselle), so that "Liisankatu" and "Kivikko" stay.
NAME_WORD = re.compile(rf"{L}{{2,}}")
CASE = (
    r"(?:n|[aä]|s|'s|’s|t[aä]|n[aä]|ksi|ss[aä]|st[aä]|ll[aä]|lt[aä]|lle|tt[aä]|[aeiouyäö]n|h[aeiouyäö]n"
    r"|seen|t|en|ten|i[aä]|j[aä]|in|ien|iden|ille|ill[aä]|ilt[aä]|iss[aä]|ist[aä]|iin|ihin|in[aä]|iksi)"
)
CLITIC = r"(?:kin|k[aä][aä]n|h[aä]n|k[oö]|ni|si|ns[aä]|mme|nne)?"
_GRADES = {"kk": "kk?", "pp": "pp?", "tt": "tt?", "ht": "h[td]", "lt": "l[tl]", "rt": "r[tr]", "nt": "n[tn]",
           "nk": "n[kg]", "mp": "m[pm]"}  # fmt: skip


def _word_forms(word: str) -> str:
    """A pattern for *word* and its inflected forms (matched case-insensitively)."""
    low = word.lower()
    if len(low) < 3:  # "Li", "Ek": the word itself
        return re.escape(word)
    if low.endswith("nen") and len(low) > 4:  # Virtanen: Virtasen, Virtasta, Virtaselle, Virtaseen
        return rf"{re.escape(word[:-3])}(?:nen|se?{CASE}){CLITIC}"
    if low[-1] not in "aeiouyäö":  # Berg, Smith: Bergin, Bergille, Bergs
        return rf"{re.escape(word)}{CASE}?{CLITIC}"
    base, vowel = word[:-1], low[-1]
    graded = re.escape(base)
    for strong, weak in _GRADES.items():
        if base.lower().endswith(strong):
            graded = re.escape(base[:-2]) + weak
            break
    else:
        if re.search(r"[aeiouyäö][tkp]$", base, re.I):  # Mäki/Mäen, Pato/Padon, Lepo/Levon
            graded = re.escape(base[:-1]) + {"t": "[td]", "k": "k?", "p": "[pv]"}[base[-1].lower()]
    ending = {"i": "[ie]", "e": "ee?"}.get(vowel, re.escape(vowel))
    return rf"{graded}{ending}{CASE}?{CLITIC}"


def names_in(text: str, names: Sequence[str]) -> Iterator[Span]:
    """The full names of *names* (two or more of their words in a row, in any case) and each name word
    alone when it is written with a capital ("kivi" is a stone, "Kivi" may be Anna Kivi)."""
    words = sorted({w for name in names for w in NAME_WORD.findall(name)}, key=len, reverse=True)
    if not words:
        return
    one = "|".join(_word_forms(w) for w in words)
    full = re.compile(rf"(?<!{L})(?:{one})(?:[\s,]+(?:{one}))+(?!{L})", re.I)
    yield from (m.span() for m in full.finditer(text))
    alone = re.compile(rf"(?<!{L})(?:{one})(?!{L})", re.I)
    yield from (m.span() for m in alone.finditer(text) if m.group(0)[0].isupper())
