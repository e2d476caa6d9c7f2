"""Message templates in Finnish, Swedish and English, which operations may override without touching code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from gateway.notifier.compose import echo_subject

SHIPPED = Path(__file__).with_name("templates")
LANGUAGES = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "fi"


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


class Templates:
    """Looks a template up in the override folder first, then in the shipped set.

    A template is a text file `<language>/<name>.txt` whose first line is `Subject: ...`, then a blank line,
    then the body. Placeholders are `$name`; an unknown placeholder is left as it is rather than failing a
    notice that a resident is owed.
    """

    def __init__(self, override: Path | None = None) -> None:
        self._dirs = tuple(d for d in (override, SHIPPED) if d is not None)
        self._cache: dict[tuple[str, str], tuple[Template, Template]] = {}

    def _load(self, language: str, name: str) -> tuple[Template, Template]:
        key = (language, name)
        if key not in self._cache:
            for folder in self._dirs:
                path = folder / language / f"{name}.txt"
                if path.is_file():
                    head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
                    subject = head.removeprefix("Subject:").strip()
                    self._cache[key] = (Template(subject), Template(body))
                    break
            else:
                raise FileNotFoundError(
                    f"no template {language}/{name}.txt in {', '.join(map(str, self._dirs))}"
                )
        return self._cache[key]

    def render(self, name: str, language: str | None, /, **values: str) -> Rendered:
        lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
        subject, body = self._load(lang, name)
        if "subject" in values:  # what we repeat of someone else's subject is capped (issue 15, item 9)
            values["subject"] = echo_subject(values["subject"])
        # One line only: a newline in a resident's subject must not smuggle in a header.
        subject_text = " ".join(subject.safe_substitute(values).split())
        return Rendered(subject_text, body.safe_substitute(values))
