"""Tracking codes: fresh ones are well-formed, found again in text, and spread over the whole alphabet."""

from __future__ import annotations

from collections import Counter

from gateway.model.tracking_code import ALPHABET, code_pattern, find_code, new_code, normalise


def test_a_new_code_is_well_formed_and_found_again() -> None:
    code = new_code("hel")
    assert code_pattern("HEL").fullmatch(code), code
    assert code.startswith("HEL-") and len(code) == len("HEL-XXXX-XXXX")
    assert find_code(f"Re: Palautteesi [{code.lower()}] on vastaanotettu") == code
    assert normalise(code.lower()) == code


def test_new_codes_use_every_character_in_every_place() -> None:
    """40 random bits cut into eight characters: over 4,000 codes each of the 32 characters turns up in
    each of the eight places (a place stuck on a few characters, or a bit never used, would not)."""
    codes = [new_code().replace("HEL-", "").replace("-", "") for _ in range(4000)]
    assert len(set(codes)) == len(codes)
    for place in range(8):
        seen = Counter(code[place] for code in codes)
        assert set(seen) == set(ALPHABET), (place, sorted(set(ALPHABET) - set(seen)))
        assert max(seen.values()) < 250  # about 125 each
