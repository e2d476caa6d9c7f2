"""What is wrong with a configuration: `Problem` (file, line, message) and `ConfigError` carrying them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in one file, printed the way compilers do: ``file:line: message``.

    Errors stop the configuration from loading; warnings (a rule that can never match) do not.
    """

    file: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        if self.severity == "warning":
            return f"{self.file}:{self.line}: warning: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every error found, not just the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def has_errors(problems: list[Problem]) -> bool:
    """True when at least one problem is an error rather than a warning."""
    return any(p.severity == "error" for p in problems)
