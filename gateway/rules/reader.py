"""`Reader`: walks loaded YAML for one file, collecting every problem with its line instead of stopping."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from gateway.rules.problems import Problem
from gateway.rules.yamlload import YList, YMap

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Reader:
    """Problem collector for one file; helpers return None (after recording why) on bad input."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    @property
    def errors(self) -> int:
        """How many errors so far (in any file): a step failed if this grew; warnings do not count."""
        return sum(p.severity == "error" for p in self.problems)

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def warning(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message, "warning"))

    def mapping(
        self,
        value: Any,
        where: str,
        line: int,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> YMap | None:
        """*value* as a mapping whose keys are checked; unknown and missing keys are reported."""
        if not isinstance(value, YMap):
            self.error(line, f"{where}: expected a mapping, got {_kind(value)}")
            return None
        allowed = tuple(allowed)
        for key in value:
            if key not in allowed:
                hint = suggest(str(key), allowed)
                self.error(value.line_of(key), f"{where}: unknown key {key!r}{hint}")
        for key in required:
            if key not in value:
                self.error(value.line, f"{where}: missing required key {key!r}")
        return value

    def string(self, value: Any, where: str, line: int) -> str | None:
        if isinstance(value, bool) or value is None or isinstance(value, YMap | YList):
            self.error(line, f"{where}: expected text, got {_kind(value)}")
            return None
        text = str(value).strip()
        if not text:
            self.error(line, f"{where}: must not be empty")
            return None
        return text

    def strings(self, value: Any, where: str, line: int) -> list[tuple[str, int]] | None:
        """One string or a non-empty list of them, each with its line."""
        if isinstance(value, YList):
            if not value:
                self.error(line, f"{where}: empty list")
                return None
            out: list[tuple[str, int]] = []
            for i, item in enumerate(value):
                text = self.string(item, f"{where}[{i}]", value.line_of(i))
                if text is not None:
                    out.append((text, value.line_of(i)))
            return out if len(out) == len(value) else None
        text = self.string(value, where, line)
        return None if text is None else [(text, line)]

    def email(self, value: Any, where: str, line: int) -> str | None:
        text = self.string(value, where, line)
        if text is None:
            return None
        if not _EMAIL.match(text):
            self.error(line, f"{where}: {text!r} is not an email address")
            return None
        return text.lower()


def _kind(value: Any) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YList):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"
