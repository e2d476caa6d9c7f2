"""The tracking page against a real daemon: every case can be followed by its code, whatever its
channel; nothing personal shows; unknown codes look alike; look-ups are rate-limited (issue 17)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from gateway.model import Channel
from gateway.model.receipt import NewReceipt
from gateway.store.db import Database
from gateway.store.public import find_public_case, publish
from gateway.store.receipts import insert_receipts
from gateway.store.tables import cases
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import make_mail, send
from tests.web.test_form import SHIPPED, TEXT, case_row, code_of, post, url


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=0)


def main_of(page: httpx.Response) -> str:
    return page.text.partition('<main id="main"')[2].partition("</main>")[0]


def test_a_web_case_is_followed_by_its_code_with_no_personal_data(web: RunningDaemon) -> None:
    code = code_of(
        post(
            web, name="Maija Meikäläinen", email="maija@example.fi", phone="0401234567", address="Puistotie 5"
        )
    )
    case_row(web, code)
    page = httpx.get(url(web, f"/track/{code.lower()}?lang=en"))  # codes are case-insensitive
    assert page.status_code == 200
    body = main_of(page)
    assert code in body and "Being handled" in body and "Urban Environment works unit" in body
    assert "Answer promised by" in body and "The feedback was received" in body
    for personal in ("Maija", "maija@example.fi", "0401234567", "Puistotie", TEXT[:30]):
        assert personal not in page.text
    assert page.headers["cache-control"] == "no-store"


def test_a_mail_case_is_followed_too_and_its_published_answer_shows(web: RunningDaemon) -> None:
    send(web.port, make_mail())
    row = wait_for(lambda: _first_case(web), what="the mail's case")
    with web.db.write() as conn:
        conn.execute(cases.update().where(cases.c.id == row.id).values(status="answered"))
        publish(
            conn, row.id, "Lunta kadulla.", "Kiitos palautteesta.\n\nAura käy huomenna.", web.clock(), "test"
        )
    page = httpx.get(url(web, f"/track/{row.code}"))
    body = main_of(page)
    assert "Vastattu" in body and "Aura käy huomenna." in body and "Vastausta on luvattu" not in body


def test_a_code_whose_receipt_intake_has_not_reached_shows_received(db: Database) -> None:
    """Read straight from the store: in a running daemon intake would reach the receipt at once."""
    now = datetime(2026, 12, 4, 10, tzinfo=UTC)
    with db.write() as conn:  # a receipt whose case does not exist yet (intake is behind)
        item = NewReceipt(Channel.WEB, b"{}", None, (), "", tracking_code="HEL-AAAA-BBBB")
        insert_receipts(conn, [item], now)
    with db.read() as conn:
        found = find_public_case(conn, "HEL-AAAA-BBBB")
    assert found is not None and found.status is None and [m.kind for m in found.timeline] == ["received"]


def test_unknown_and_malformed_codes_get_one_and_the_same_404_page(web: RunningDaemon) -> None:
    pages = [
        httpx.get(url(web, path))
        for path in (
            "/track/HEL-0000-0000",
            "/track/HEL-ZZZZ-ZZZZ",
            "/track/not-a-code",
            "/track?code=nothing",
        )
    ]
    assert {p.status_code for p in pages} == {404}
    bodies = {main_of(p) for p in pages}
    assert len(bodies) == 1 and "Tunnusta ei löytynyt" in bodies.pop()


def test_the_look_up_form_leads_to_the_code_s_page(web: RunningDaemon) -> None:
    code = code_of(post(web))
    answer = httpx.get(url(web, f"/track?code={code.lower()}&lang=sv"), follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/track/{code}?lang=sv"


def test_look_ups_are_rate_limited_per_client(start_gateway: Callable[..., RunningDaemon]) -> None:
    gw = start_gateway(config_dir=SHIPPED, track_lookups_per_client_per_minute=5)
    answers = [httpx.get(url(gw, f"/track/HEL-0000-000{i}")).status_code for i in range(7)]
    assert answers[:5] == [404] * 5 and answers[5:] == [429, 429]
    limited = httpx.get(url(gw, "/track/HEL-0000-0009"))
    assert int(limited.headers["retry-after"]) >= 1 and "Liian monta hakua" in limited.text


def _first_case(gw: RunningDaemon) -> object:
    with gw.db.read() as conn:
        return conn.execute(select(cases.c.id, cases.c.code)).first()
