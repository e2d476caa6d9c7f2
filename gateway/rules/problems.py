"""What is wrong with a configuration: `Problem` (file, line, message) and `ConfigError` carrying them all."""

from __future__ import annotations

from gateway.errors import ConfigError

__all__ = ["ConfigError", "Problem", "has_errors"]  # ConfigError: the error tree's, read here too

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


def has_errors(problems: list[Problem]) -> bool:
    """True when at least one problem is an error rather than a warning."""
    return any(p.severity == "error" for p in problems)
