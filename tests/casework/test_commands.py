"""reroute_command, table-driven: `#reroute DEPARTMENT why` (or #siirrä, #siirra, #flytta) on the first
non-empty line of a handler's reply; the department lower-cased, the reason the rest of the line and the
lines after it."""

from __future__ import annotations

import pytest

from gateway.casework.commands import reroute_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("#reroute kirjaamo", ("kirjaamo", ""), id="reroute"),
        pytest.param("#siirrä talvi", ("talvi", ""), id="siirrä"),
        pytest.param("#siirra talvi", ("talvi", ""), id="siirra-without-the-umlaut"),
        pytest.param("#flytta kirjaamo", ("kirjaamo", ""), id="flytta"),
        pytest.param("#REROUTE Kirjaamo", ("kirjaamo", ""), id="upper-case-command-and-department"),
        pytest.param("#Siirrä TALVI", ("talvi", ""), id="department-lower-cased"),
        pytest.param("#reroute\tkirjaamo", ("kirjaamo", ""), id="a-tab-after-the-command"),
        pytest.param(
            "#siirrä pysakointi väärä osasto, tämä on pysäköintiasia",
            ("pysakointi", "väärä osasto, tämä on pysäköintiasia"),
            id="reason-on-the-same-line",
        ),
        pytest.param(
            "#flytta kirjaamo\nFel avdelning.\nDet gäller parkering.",
            ("kirjaamo", "Fel avdelning. Det gäller parkering."),
            id="reason-on-the-following-lines",
        ),
        pytest.param(
            "#reroute talvi  snow\n\n  belongs to winter maintenance  \n",
            ("talvi", "snow belongs to winter maintenance"),
            id="reason-on-both-joined-blank-lines-dropped",
        ),
        pytest.param("\n\n   \n#reroute kirjaamo\nsyy", ("kirjaamo", "syy"), id="leading-blank-lines"),
        pytest.param("   #reroute kirjaamo", ("kirjaamo", ""), id="leading-spaces"),
        pytest.param(
            "#reroute kadut.ja-puistot_2 syy", ("kadut.ja-puistot_2", "syy"), id="department-dots-and-dashes"
        ),
        pytest.param("#siirrä ympäristö", ("ympäristö", ""), id="department-with-umlauts"),
        pytest.param("Hei,\n#reroute kirjaamo", None, id="not-on-the-first-non-empty-line"),
        pytest.param("Siirrän asian.\n\n#siirrä talvi", None, id="command-after-text"),
        pytest.param("Please #reroute kirjaamo", None, id="command-inside-a-line"),
        pytest.param("#rerouted kirjaamo", None, id="rerouted"),
        pytest.param("#reroutekirjaamo", None, id="no-space-after-the-command"),
        pytest.param("#reroute", None, id="reroute-without-a-department"),
        pytest.param("#reroute   \nkirjaamo", None, id="department-on-the-next-line"),
        pytest.param("#siirrä", None, id="siirrä-without-a-department"),
        pytest.param("reroute kirjaamo", None, id="without-the-hash"),
        pytest.param("#forward kirjaamo", None, id="another-command"),
        pytest.param("", None, id="empty"),
        pytest.param(" \n\n ", None, id="only-blank-lines"),
    ],
)
def test_reroute_command(text: str, expected: tuple[str, str] | None) -> None:
    assert reroute_command(text) == expected
