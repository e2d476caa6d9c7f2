"""strip_reply(): quote headers in fi/sv/en, quoted lines, signatures and phone footers."""

from __future__ import annotations

import pytest

from gateway.mail import strip_reply

NEW = "Katuvalo on edelleen rikki."

CASES = {
    "gmail fi, wrapped": f"{NEW}\n\nma 3.2.2025 klo 10.12 Matti Meikäläinen <\n"
    "matti@x.fi> kirjoitti:\n> vanha",
    "gmail fi, one line": f"{NEW}\n\nti 4.2.2025 klo 9.01 Palaute <p@hel.example> kirjoitti:\n\n> vanha",
    "thunderbird fi": f"{NEW}\n\nMatti Meikäläinen kirjoitti 3.2.2025 klo 10.12:\n> vanha",
    "outlook fi": f"{NEW}\n\n________________________________\nLähettäjä: Palaute <p@hel.example>\n"
    "Lähetetty: maanantai 3. helmikuuta 2025 10.12\nVastaanottaja: Matti\nAihe: Katuvalo\n\nvanha",
    "outlook fi, bold from html": f"{NEW}\n\n**Lähettäjä:** Palaute\n**Päivämäärä:** 3.2.2025\n"
    "**Aihe:** Katuvalo\nvanha",
    "outlook sv": f"{NEW}\n\nFrån: Respons <r@hel.example>\nSkickat: den 7 februari 2025\n"
    "Till: Karin\nÄmne: Snö\n\ngammal",
    "thunderbird sv": f"{NEW}\n\nDen 2025-02-04 kl. 09:30, skrev Stadens respons:\n> gammal",
    "gmail sv": f"{NEW}\n\nmån 3 feb. 2025 kl 10:12 skrev Anna <anna@x.se>:\n> gammal",
    "gmail en": f"{NEW}\n\nOn Mon, Feb 3, 2025 at 10:12 AM City Feedback <f@hel.example>\nwrote:\n> old",
    "apple en": f"{NEW}\n\n> On 5 Feb 2025, at 9.15, City Feedback <f@hel.example> wrote:\n>\n> old",
    "outlook en": f"{NEW}\n\nFrom: City Feedback <f@hel.example>\nSent: Monday, February 10, 2025\n"
    "To: Oliver\nSubject: Fence\n\nold",
    "original message": f"{NEW}\n\n-----Original Message-----\nFrom: x\nold",
    "alkuperäinen viesti": f"{NEW}\n\n-----Alkuperäinen viesti-----\nLähettäjä: x\nvanha",
    "ursprungligt": f"{NEW}\n\n----- Ursprungligt meddelande -----\nFrån: x\ngammal",
    "gmail forward": f"{NEW}\n\n---------- Forwarded message ---------\nFrom: x\nold",
    "dash signature": f"{NEW}\n\n-- \nMatti Meikäläinen\nPuh. 040 123 4567",
    "iphone fi": f"{NEW}\n\nLähetetty iPhonesta",
    "android fi": f"{NEW}\n\nLähetetty Android-puhelimesta",
    "iphone sv": f"{NEW}\n\nSkickat från min iPhone",
    "iphone en": f"{NEW}\n\nSent from my iPhone",
    "outlook mobile": f"{NEW}\n\nGet Outlook for Android",
    "quoted only lines": f"> vanha\n> toinen\n{NEW}",
    "crlf": f"{NEW}\r\n\r\nOn Mon, 3 Feb 2025, Matti <m@x.fi> wrote:\r\n> old\r\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_only_the_new_text_is_left(name: str) -> None:
    assert strip_reply(CASES[name]) == NEW


@pytest.mark.parametrize(
    "text",
    [
        # A resident's list is not a signature (mail-parser-reply cut these).
        "Kuopat:\n- Mannerheimintie 5\n- Runeberginkatu 12",
        # Prose that mentions writing is not an attribution.
        "Naapurini kirjoitti:\nkaupunki ei vastaa.",
        # A lone From: line is not Outlook's header block.
        "From: my window I see the broken lamp.\nIt has been dark for a week.",
        "Thanks, the lamp works again.\nKind regards, Emily",
    ],
)
def test_ordinary_text_is_kept_whole(text: str) -> None:
    assert strip_reply(text) == text


def test_a_message_that_is_all_quote_has_no_new_text() -> None:
    assert strip_reply("On Mon, 3 Feb 2025, Matti <m@x.fi> wrote:\n> old\n> older") == ""


def test_inline_answers_between_quotes_are_kept() -> None:
    text = "> Onko teillä kuva?\nOn, liitteenä.\n\n> Missä kohdassa?\nTalon 12 edessä."
    assert strip_reply(text) == "On, liitteenä.\n\nTalon 12 edessä."
