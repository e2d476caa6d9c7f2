"""Turns a rule's `when:` YAML into compiled conditions, reporting every mistake with its line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.deadlines.timewindow import parse_window
from gateway.model import Channel
from gateway.rules.areas import Area
from gateway.rules.conditions import (
    All,
    AnyOf,
    Condition,
    FieldIs,
    InArea,
    InTime,
    Matches,
    Not,
    Recipient,
    Sender,
    SenderDomain,
    Words,
    base_address,
)
from gateway.rules.reader import Reader, suggest
from gateway.rules.wordcheck import common_word_warning
from gateway.rules.yamlload import YList, YMap

CONDITIONS = (
    "all", "any", "not", "words", "matches", "sender", "sender_domain", "recipient",
    "channel", "category", "language", "area", "time",
)  # fmt: skip
CHANNELS = frozenset(c.value for c in Channel)
_WORD_ENTRY = re.compile(r"^\w+\*?$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class ConditionBuilder:
    """Compiles conditions for one rules file; collects the ``prefix*`` words for the word index."""

    def __init__(
        self,
        reader: Reader,
        areas: Mapping[str, Area] | None,
        addresses: frozenset[str] | None,
        areas_failed: bool = False,
    ) -> None:
        self.reader = reader
        self.areas = areas  # None: no areas file given
        self.areas_failed = areas_failed  # the areas file had errors: do not pile on more
        self.addresses = addresses  # None: departments.yaml failed, skip the recipient check
        self.prefixes: set[str] = set()
        self._warned: set[tuple[int, str]] = set()  # a YAML alias (*winter) repeats the same lines

    def build(self, value: Any, where: str, line: int) -> Condition | None:
        """A mapping (several keys mean all of them) or a list (all of the items)."""
        if isinstance(value, YList):
            return self._combine("all", value, where, line)
        if not isinstance(value, YMap) or not value:
            self.reader.error(line, f"{where}: expected a condition such as 'words: [...]'")
            return None
        parts: list[Condition] = []
        ok = True
        for key, item in value.items():
            cond = self._one(str(key), item, where, value.line_of(key))
            ok = ok and cond is not None
            if cond is not None:
                parts.append(cond)
        if not ok:
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def _combine(self, key: str, value: Any, where: str, line: int) -> Condition | None:
        if not isinstance(value, YList) or not value:
            self.reader.error(line, f"{where}.{key}: expected a non-empty list of conditions")
            return None
        children = [self.build(v, f"{where}.{key}[{i}]", value.line_of(i)) for i, v in enumerate(value)]
        built = tuple(c for c in children if c is not None)
        if len(built) != len(children):
            return None
        if len(built) == 1:
            return built[0]
        return All(built) if key == "all" else AnyOf(built)

    def _one(self, key: str, value: Any, where: str, line: int) -> Condition | None:
        if key in ("all", "any"):
            return self._combine(key, value, where, line)
        if key == "not":
            child = self.build(value, f"{where}.not", line)
            return None if child is None else Not(child)
        if key not in CONDITIONS:
            self.reader.error(line, f"{where}: unknown condition {key!r}{suggest(key, CONDITIONS)}")
            return None
        if key == "words" and isinstance(value, YMap):
            return self._words_by_language(value, f"{where}.words", line)
        entries = self.reader.strings(value, f"{where}.{key}", line)
        if entries is None:
            return None
        method = getattr(self, "_" + key)
        result: Condition | None = method(entries, f"{where}.{key}")
        return result

    def _bad(self, entries: list[tuple[str, int]], where: str, test: Any, message: str) -> bool:
        bad = False
        for text, line in entries:
            if not test(text):
                self.reader.error(line, f"{where}: {message.format(text)}")
                bad = True
        return bad

    def _words(self, entries: list[tuple[str, int]], where: str, language: str | None = None) -> Words | None:
        message = "{!r} is not one word (letters, optionally ending in '*'); use 'matches' for phrases"
        if self._bad(entries, where, _WORD_ENTRY.match, message):
            return None
        if language is None:  # a word limited to a language matches no other: nothing to warn about
            for text, line in entries:
                warning = common_word_warning(text.casefold())
                if warning is not None and (line, text) not in self._warned:
                    self._warned.add((line, text))
                    self.reader.warning(line, f"{where}: {warning}")
        words = tuple(dict.fromkeys(text.casefold() for text, _ in entries))
        self.prefixes.update(w[:-1] for w in words if w.endswith("*"))
        return Words(words, language)

    def _words_by_language(self, value: YMap, where: str, line: int) -> Condition | None:
        """``words: {sv: [is, isen], en: [ice]}``: each list matches feedback in its language only."""
        if not value:
            self.reader.error(line, f"{where}: expected language codes with word lists, e.g. {{sv: [is]}}")
            return None
        parts: list[Condition] = []
        ok = True
        for key, item in value.items():
            language, key_line = str(key).lower(), value.line_of(key)
            if not _LANGUAGE.match(language):
                self.reader.error(key_line, f"{where}: {key!r} is not a language code such as fi, sv or en")
                ok = False
                continue
            entries = self.reader.strings(item, f"{where}.{language}", key_line)
            built = None if entries is None else self._words(entries, f"{where}.{language}", language)
            if built is None:
                ok = False
            else:
                parts.append(built)
        if not ok:
            return None
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def _matches(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        patterns: list[re.Pattern[str]] = []
        for text, line in entries:
            try:
                patterns.append(re.compile(text, re.IGNORECASE))
            except re.error as exc:
                self.reader.error(line, f"{where}: bad regular expression {text!r}: {exc}")
        return Matches(tuple(patterns)) if len(patterns) == len(entries) else None

    def _sender(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        if self._bad(entries, where, lambda t: "@" in t, "{!r} is not an email address"):
            return None
        return Sender(frozenset(t.lower() for t, _ in entries))

    def _sender_domain(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        message = "{!r} is a domain like 'hel.example', without '@'"
        if self._bad(entries, where, lambda t: "@" not in t and "." in t, message):
            return None
        return SenderDomain(frozenset(t.lower() for t, _ in entries))

    def _recipient(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        if self._bad(entries, where, lambda t: "@" in t, "{!r} is not an email address"):
            return None
        addresses = self.addresses
        if addresses is not None:
            message = "{!r} is not one of the addresses in departments.yaml, so it can never match"
            if self._bad(entries, where, lambda t: base_address(t) in addresses, message):
                return None
        return Recipient(frozenset(t.lower() for t, _ in entries))

    def _channel(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        message = "unknown channel {!r} (" + ", ".join(sorted(CHANNELS)) + ")"
        if self._bad(entries, where, lambda t: t.lower() in CHANNELS, message):
            return None
        return FieldIs("channel", frozenset(t.lower() for t, _ in entries))

    def _category(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        return FieldIs("category", frozenset(t.casefold() for t, _ in entries))

    def _language(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        message = "{!r} is not a language code such as fi, sv or en"
        if self._bad(entries, where, lambda t: _LANGUAGE.match(t.lower()), message):
            return None
        return FieldIs("language", frozenset(t.lower() for t, _ in entries))

    def _area(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        if self.areas_failed:
            return None
        if self.areas is None:
            self.reader.error(entries[0][1], f"{where}: area conditions need an areas file")
            return None
        areas = self.areas
        found = [areas[t] for t, _ in entries if t in areas]
        for text, line in entries:
            if text not in areas:
                hint = suggest(text, areas)
                self.reader.error(line, f"{where}: unknown area {text!r}{hint}")
        return InArea(tuple(found)) if len(found) == len(entries) else None

    def _time(self, entries: list[tuple[str, int]], where: str) -> Condition | None:
        windows = []
        for text, line in entries:
            try:
                windows.append(parse_window(text))
            except ValueError as exc:
                self.reader.error(line, f"{where}: {exc}")
        return InTime(tuple(windows)) if len(windows) == len(entries) else None
