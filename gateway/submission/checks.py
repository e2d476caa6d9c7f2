"""The checks every submission meets, whichever way it came in (form, webhook, Open311, staff entry):
each problem is a field, a machine word and an English sentence; pages show their own words for it."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.mail.headers import is_addr_spec

MIN_TEXT, MAX_TEXT = 10, 5000  # as Helsinki's own feedback service demands
MAX_NAME, MAX_ADDRESS, MAX_PHONE = 200, 200, 40
LANGUAGES = ("fi", "sv", "en")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()/-]{4,38}$")
# Control characters other than newline and tab have no place in a resident's text (and break mail).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # text, category, location, address, name, email, phone, photos, language
    reason: str  # a machine word: required, too-short, too-long, unknown, outside-city, invalid ...
    detail: str  # an English sentence for APIs and logs


def clean_text(value: str) -> str:
    """Newlines made \\n, control characters removed, ends stripped."""
    return _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def check_text(text: str) -> Problem | None:
    if not text:
        return Problem("text", "required", "the feedback text is required")
    if len(text) < MIN_TEXT:
        return Problem("text", "too-short", f"the text must be at least {MIN_TEXT} characters")
    if len(text) > MAX_TEXT:
        return Problem("text", "too-long", f"the text must be at most {MAX_TEXT} characters")
    return None


def check_category(category: str | None, known: Mapping[str, object]) -> Problem | None:
    if category and category not in known:
        return Problem("category", "unknown", f"unknown category {category[:64]!r}")
    return None


def check_location(
    lat: float | None, lon: float | None, bounds: tuple[float, float, float, float]
) -> Problem | None:
    """Both coordinates or neither; finite, and inside the city's box (south, west, north, east)."""
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        return Problem("location", "incomplete", "give both latitude and longitude, or neither")
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return Problem("location", "invalid", "coordinates must be numbers")
    south, west, north, east = bounds
    if not (south <= lat <= north and west <= lon <= east):
        return Problem("location", "outside-city", "the place is outside the city")
    return None


def check_contact(name: str, email: str, phone: str) -> list[Problem]:
    found: list[Problem] = []
    if len(name) > MAX_NAME:
        found.append(Problem("name", "too-long", f"the name must be at most {MAX_NAME} characters"))
    if email and not is_addr_spec(email):
        found.append(Problem("email", "invalid", "not an email address"))
    if phone and (len(phone) > MAX_PHONE or not _PHONE.match(phone)):
        found.append(Problem("phone", "invalid", "not a phone number"))
    return found


def check_address(address: str) -> Problem | None:
    if len(address) > MAX_ADDRESS:
        return Problem("address", "too-long", f"the address must be at most {MAX_ADDRESS} characters")
    return None


def parse_float(value: str | None) -> float | None:
    """A coordinate from a form or query field; None when empty; ValueError when not a number."""
    if value is None or not value.strip():
        return None
    return float(value.strip().replace(",", "."))
