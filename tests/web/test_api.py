"""The signed webhook `POST /api/v1/feedback`, its OpenAPI document and `gateway client`, against a real
daemon (uvicorn in its loop, the receipt writer, intake, the outbox) on SQLite and PostgreSQL (issue 17):
what a city system meets, the bad input, forged and replayed requests, and a fuzz from the API's own
OpenAPI document with schemathesis."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from gateway.cli.main import main
from gateway.store import clients
from gateway.store.tables import api_clients, attachments, cases, receipts
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.mail import count, receipt_mail

SHIPPED = Path(__file__).resolve().parents[2]  # the repository's departments.yaml with its categories
TEXT = "Hakaniemen torin roska-astiat ovat olleet täynnä koko viikon, ja roskat lentävät tuulessa."
JSON_TYPE = "application/json; charset=utf-8"
NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def signature(secret: str, t: int | str, body: bytes) -> str:
    """The v1 signature as a client computes it: hex HMAC-SHA256 of "<t>.<raw body>"."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


@dataclass
class Client:
    """A webhook client of a running daemon, signing as the API's documentation says."""

    gw: RunningDaemon
    name: str
    secret: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gw.parts.http.port}/api/v1/feedback"

    def now(self) -> int:
        return int(self.gw.clock().timestamp())

    def post(
        self,
        doc: object = None,
        *,
        raw: bytes | None = None,
        key: str | None = None,
        t: int | None = None,
        sign_with: str | None = None,
        signed_body: bytes | None = None,
        headers: dict[str, str | bytes] | None = None,
        drop: tuple[str, ...] = (),
    ) -> httpx.Response:
        body = raw if raw is not None else json.dumps({"text": TEXT} if doc is None else doc).encode()
        t = self.now() if t is None else t
        sent: dict[str, str | bytes] = {
            "content-type": "application/json",
            "x-gateway-client": self.name,
            "x-gateway-signature": f"t={t},v1={signature(sign_with or self.secret, t, signed_body or body)}",
        }
        if key is not None:
            sent["idempotency-key"] = key
        sent |= headers or {}
        for name in drop:
            sent.pop(name)
        return httpx.post(self.url, content=body, headers=sent, timeout=60)


def add(gw: RunningDaemon, name: str, kind: clients.Kind = "webhook") -> str:
    with gw.db.write() as conn:
        return clients.add_client(conn, name, kind, NOW)


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    # every key read for each request: how long a key is remembered has a test of its own
    return start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=0, web_client_key_seconds=0)


@pytest.fixture
def client(web: RunningDaemon) -> Client:
    return Client(web, "city-app", add(web, "city-app"))


def accepted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text[:1000]
    assert response.headers["content-type"] == JSON_TYPE
    answer = response.json()
    assert set(answer) == {"tracking_code", "status_url"}
    return str(answer["tracking_code"])


def refused(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:1000]
    assert response.headers["content-type"] == JSON_TYPE
    answer = response.json()
    assert answer["error"] == error, answer
    assert isinstance(answer["detail"], str) and answer["detail"]
    return dict(answer)


def case_row(gw: RunningDaemon, code: str) -> Any:
    def find() -> Any:
        with gw.db.read() as conn:
            return conn.execute(select(cases).where(cases.c.code == code)).first()

    return wait_for(find, what=f"the case {code}")


def jpeg(colour: str = "blue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, "JPEG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- what a city system meets ----------------------------------------------------------------------------


def test_a_signed_post_becomes_a_case_with_the_returned_code_and_a_receipt_mail(client: Client) -> None:
    web = client.gw
    response = client.post(
        {
            "text": TEXT,
            "category": "park-maintenance",
            "location": {"lat": 60.179, "lon": 24.951},
            "address": "Hakaniemen tori",
            "contact": {"name": "Maija M", "email": "Maija@Example.fi", "phone": "040 123 4567"},
            "language": "sv",
            "consent_to_publish": True,
            "photos": [{"filename": "roskis.jpg", "content_base64": b64(jpeg())}],
        }
    )
    code = accepted(response)
    assert count(web.db, receipts, receipts.c.tracking_code == code) == 1  # committed before the 202
    assert response.json()["status_url"] == f"{web.settings.web_url}/track/{code}"
    row = case_row(web, code)
    assert (row.channel, row.category, row.language) == ("web", "park-maintenance", "sv")
    assert (row.latitude, row.longitude, row.address) == (60.179, 24.951, "Hakaniemen tori")
    assert (row.resident_email, row.resident_name) == ("maija@example.fi", "Maija M")
    assert row.resident_phone == "040 123 4567" and row.publish_consent is True and row.text == TEXT
    with web.db.read() as conn:
        [receipt] = conn.execute(select(receipts)).all()
        [photo] = conn.execute(select(attachments).where(attachments.c.case_id == row.id)).all()
    assert (receipt.client, receipt.tracking_code, receipt.idempotency_key) == ("city-app", code, None)
    assert receipt.peer == "127.0.0.1" and photo.content_type == "image/jpeg"
    [mail] = wait_for(lambda: receipt_mail(web.maildir), what="the receipt mail")
    assert "<maija@example.fi>" in str(mail["To"]) and code in str(mail["Subject"])
    assert f"{web.settings.web_url}/track/{code}" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_anonymous_feedback_is_a_case_without_a_receipt_mail(client: Client) -> None:
    code = accepted(client.post({"text": TEXT, "contact": {}, "category": None, "location": None}))
    row = case_row(client.gw, code)
    assert row.resident_email == "" and row.language == "fi"  # the default language
    wait_for(lambda: count(client.gw.db, receipts, receipts.c.state == "done"), what="intake done")
    assert receipt_mail(client.gw.maildir) == []


def test_the_same_idempotency_key_gives_the_same_answer_and_one_case(client: Client) -> None:
    web = client.gw
    doc = {"text": TEXT, "contact": {"email": "resident@example.fi"}}
    first = client.post(doc, key="order-4711")
    web.clock.advance(timedelta(seconds=30))  # a retry: signed anew, later
    again = client.post(doc, key="order-4711")
    reordered = client.post(dict(reversed(doc.items())), key="order-4711")  # the same feedback, other bytes
    code = accepted(first)
    assert again.json() == first.json() and accepted(reordered) == code
    other = client.post({"text": "Aivan toinen palaute samalla avaimella lähetettynä."}, key="order-4711")
    answer = refused(other, 409, "idempotency-key-reused")
    assert code in answer["detail"]
    case_row(web, code)
    wait_for(lambda: receipt_mail(web.maildir), what="the receipt mail")
    assert count(web.db, receipts) == 1 and count(web.db, cases) == 1
    # keys are the client's own: another client's same key is another submission
    other_client = Client(web, "other-app", add(web, "other-app"))
    assert accepted(other_client.post(doc, key="order-4711")) != code
    assert count(web.db, receipts) == 2


def test_a_client_rotating_its_key_may_send_several_signatures(client: Client) -> None:
    body = json.dumps({"text": TEXT}).encode()
    t = client.now()
    old, new = signature("an old secret of this client", t, body), signature(client.secret, t, body)
    both = f"t={t},v1={old},v1={new}"
    assert accepted(client.post(raw=body, headers={"x-gateway-signature": both}))
    spaced = f"t={t} , v0=ignored,  v1={new.upper()}"  # spaces, an unknown scheme, upper-case hex
    assert accepted(client.post(raw=body, headers={"x-gateway-signature": spaced}))


# -- who may send --------------------------------------------------------------------------------------

SIX_MINUTES = 6 * 60


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"sign_with": "not the secret of this client"}, "bad-signature"),
        ({"signed_body": json.dumps({"text": "Toinen palaute, jonka allekirjoitus tämä on."}).encode()},
         "bad-signature"),
        ({"headers": {"x-gateway-client": "nobody"}}, "unknown-client"),
        ({"headers": {"x-gateway-client": "Not A Name; DROP TABLE"}}, "unknown-client"),
        ({"drop": ("x-gateway-client",)}, "unknown-client"),
        ({"drop": ("x-gateway-signature",)}, "bad-signature"),
        ({"drop": ("x-gateway-client", "x-gateway-signature")}, "unknown-client"),
        ({"headers": {"x-gateway-signature": "sha256=0123abcd"}}, "bad-signature"),
        ({"headers": {"x-gateway-signature": "t=1773129600"}}, "bad-signature"),
        ({"headers": {"x-gateway-signature": "t=abc,v1=" + "0" * 64}}, "bad-signature"),
        ({"headers": {"x-gateway-signature": "t=1,t=2,v1=" + "0" * 64}}, "bad-signature"),
        ({"headers": {"x-gateway-signature": ("t=1,v1=ä" + "0" * 62).encode()}}, "bad-signature"),
        ({"t_offset": -SIX_MINUTES}, "stale-timestamp"),
        ({"t_offset": SIX_MINUTES}, "stale-timestamp"),
    ],
    ids=[
        "wrong-secret", "another-body", "unknown-client", "not-a-name", "no-client-header",
        "no-signature-header", "no-headers", "other-scheme", "no-v1", "t-not-a-number", "two-t",
        "non-ascii", "6-minutes-old", "6-minutes-ahead",
    ],
)  # fmt: skip
def test_a_request_not_signed_by_an_enabled_client_now_is_401_and_nothing_is_stored(
    client: Client, change: dict[str, Any], error: str
) -> None:
    change = dict(change)  # the parameter is shared by the runs on both databases
    offset = change.pop("t_offset", 0)
    response = client.post(t=client.now() + offset, **change)
    refused(response, 401, error)
    assert response.headers["www-authenticate"].startswith("GatewaySignature")
    assert count(client.gw.db, receipts) == 0


def test_a_disabled_client_is_refused_as_unknown_once_its_remembered_key_is_stale(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    web = start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=0, web_client_key_seconds=0.5)
    client = Client(web, "city-app", add(web, "city-app"))
    accepted(client.post())
    with client.gw.db.write() as conn:
        assert clients.disable_client(conn, "city-app", NOW)
    time.sleep(0.6)  # the key is remembered web_client_key_seconds
    refused(client.post(), 401, "unknown-client")
    assert count(client.gw.db, receipts) == 1


def test_an_open311_key_is_no_webhook_secret(client: Client) -> None:
    key = add(client.gw, "open311-app", "open311")
    refused(Client(client.gw, "open311-app", key).post(), 401, "unknown-client")


def test_a_timestamp_within_five_minutes_either_way_is_taken(client: Client) -> None:
    assert accepted(client.post(t=client.now() - 290))
    assert accepted(client.post(t=client.now() + 290))


# -- what a body may hold -----------------------------------------------------------------------------


def photo(data: bytes, name: str = "kuva.jpg") -> dict[str, str]:
    return {"filename": name, "content_base64": b64(data)}


@pytest.mark.parametrize(
    ("doc", "field", "reason"),
    [
        ({"text": "lyhyt"}, "text", "too-short"),
        ({"text": "   \n\t  \x00 "}, "text", "required"),
        ({"text": "x" * 5001}, "text", "too-long"),
        ({}, "text", "required"),
        ({"text": 12345678901}, "text", "wrong-type"),
        ({"text": TEXT, "category": "no-such-topic"}, "category", "unknown"),
        ({"text": TEXT, "location": {"lat": 59.0, "lon": 24.9}}, "location", "outside-city"),
        ({"text": TEXT, "location": {"lat": 60.2}}, "location.lon", "required"),
        ({"text": TEXT, "location": {"lat": "60.2", "lon": "24.9"}}, "location.lat", "wrong-type"),
        ({"text": TEXT, "photos": [photo(b"MZ\x90\x00 not a jpeg")]}, "photos[0]", "not-an-image"),
        ({"text": TEXT, "photos": [photo(b"GIF89a" + b"\x00" * 20)]}, "photos[0]", "unsupported-type"),
        ({"text": TEXT, "photos": [{"content_base64": "not base64!"}]}, "photos[0].content_base64",
         "not-base64"),
        ({"text": TEXT, "photos": [photo(jpeg())] * 6}, "photos", "too-many"),
        ({"text": TEXT, "photos": [{"url": "http://169.254.169.254/latest/meta-data/"}]}, "photos[0].url",
         "url-not-taken"),
        ({"text": TEXT, "photos": [{"filename": "a.jpg"}]}, "photos[0].content_base64", "required"),
        ({"text": TEXT, "priority": "urgent"}, "priority", "unknown-field"),
        ({"text": TEXT, "contact": {"email": "x@y.fi", "fax": "123"}}, "contact.fax", "unknown-field"),
        ({"text": TEXT, "contact": {"email": "not an address"}}, "contact.email", "invalid"),
        ({"text": TEXT, "contact": {"phone": "call me maybe"}}, "contact.phone", "invalid"),
        ({"text": TEXT, "contact": {"name": "Maija\r\nBcc: x@y.fi"}}, "contact.name", "invalid"),
        ({"text": TEXT, "contact": {"name": "n" * 201}}, "contact.name", "too-long"),
        ({"text": TEXT, "address": "k" * 201}, "address", "too-long"),
        ({"text": TEXT, "language": "de"}, "language", "not-allowed"),
        ({"text": TEXT, "consent_to_publish": "yes"}, "consent_to_publish", "wrong-type"),
    ],
)  # fmt: skip
def test_an_invalid_body_is_422_naming_the_field_and_nothing_is_stored(
    client: Client, doc: dict[str, Any], field: str, reason: str
) -> None:
    answer = refused(client.post(doc), 422, "invalid-body")
    assert (answer["field"], answer["reason"]) == (field, reason), answer
    assert answer["detail"].startswith(f"{field}: ")
    assert {"field": field, "reason": reason} == {k: answer["problems"][0][k] for k in ("field", "reason")}
    assert count(client.gw.db, receipts) == 0


def test_every_problem_is_listed(client: Client) -> None:
    answer = refused(
        client.post({"text": "lyhyt", "category": "nope", "address": "k" * 201}), 422, "invalid-body"
    )
    assert [p["field"] for p in answer["problems"]] == ["address"]  # pydantic's shape checks come first
    answer = refused(client.post({"text": "lyhyt", "category": "nope"}), 422, "invalid-body")
    assert [p["field"] for p in answer["problems"]] == ["text", "category"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "Roskis on t\xc3\xa4ynn\xc3\xa4 ja haisee pahalle."',  # cut off
        b"not json at all",
        b"",
        b'["Roskis on taynna ja haisee pahalle."]',  # JSON, not an object
        b'{"text": "Roskis on taynna ja haisee.", "location": {"lat": NaN, "lon": 24.9}}',
        b'{"text": "Roskis on taynna ja haisee \\ud800 pahalle."}',  # a lone surrogate
        b'{"text": "Roskis on t\xe4ynn\xe4 ja haisee pahalle."}',  # Latin-1, not UTF-8
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["cut-off", "not-json", "empty", "array", "nan", "lone-surrogate", "latin-1", "deep"],
)
def test_a_body_that_is_no_json_object_is_422_invalid_json(client: Client, raw: bytes) -> None:
    refused(client.post(raw=raw), 422, "invalid-json")
    assert count(client.gw.db, receipts) == 0


@pytest.mark.parametrize("key", ["", "with space", "ä-key", "k" * 256])
def test_a_bad_idempotency_key_is_422(client: Client, key: str) -> None:
    response = client.post(headers={"idempotency-key": key.encode()})  # ä goes as its UTF-8 bytes
    answer = refused(response, 422, "invalid-header")
    assert answer["field"] == "Idempotency-Key"
    assert count(client.gw.db, receipts) == 0


def test_markup_in_every_field_is_stored_verbatim_and_never_breaks_the_json(client: Client) -> None:
    attack = '<script>alert("x")</script>"><img src=x onerror=alert(2)>\\u0000 ]}'
    doc = {
        "text": f"{TEXT} {attack}",
        "address": attack,
        "contact": {"name": attack, "email": "resident@example.fi"},
        "photos": [photo(jpeg(), name=attack)],
    }
    code = accepted(client.post(doc))
    row = case_row(client.gw, code)
    assert row.text == f"{TEXT} {attack}" and row.address == attack and row.resident_name == attack
    refusal = client.post({"text": TEXT, "category": attack})
    answer = refused(refusal, 422, "invalid-body")
    assert attack[:50] in answer["detail"] and refusal.headers["x-content-type-options"] == "nosniff"


# -- bounds --------------------------------------------------------------------------------------------


def test_a_30_mb_photo_is_422_and_a_30_mb_body_over_the_bound_413(
    client: Client, start_gateway: Callable[..., RunningDaemon]
) -> None:
    big = b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024)
    answer = refused(client.post({"text": TEXT, "photos": [photo(big)]}), 422, "invalid-body")
    assert (answer["field"], answer["reason"]) == ("photos[0]", "too-large")
    small = start_gateway(config_dir=SHIPPED, http_max_body_bytes=20 * 1024 * 1024)
    bounded = Client(small, "city-app", client.secret)  # the same database
    body = json.dumps({"text": TEXT, "photos": [photo(big[: 22 * 1024 * 1024])]}).encode()
    assert len(body) > 29 * 1024 * 1024
    refused(bounded.post(raw=body), 413, "too-large")  # by its Content-Length, before anything is read

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        for i in range(0, len(body), 1024 * 1024):
            yield body[i : i + 1024 * 1024]

    t = bounded.now()
    streamed = httpx.post(
        bounded.url,
        content=chunks(),
        headers={
            "x-gateway-client": "city-app",
            "x-gateway-signature": f"t={t},v1={signature(bounded.secret, t, body)}",
        },
        timeout=60,
    )
    refused(streamed, 413, "too-large")
    assert count(client.gw.db, receipts) == 0 and count(small.db, receipts) == 0


def test_a_client_that_posts_too_fast_gets_429_with_retry_after(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    gw = start_gateway(config_dir=SHIPPED, web_posts_per_client_per_minute=3)
    client = Client(gw, "city-app", add(gw, "city-app"))
    assert [client.post().status_code for _ in range(2)] == [202, 202]
    refused(client.post(drop=("x-gateway-signature",)), 401, "bad-signature")  # a stranger's tries count too
    limited = client.post()
    refused(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert count(gw.db, receipts) == 2


def test_nothing_stored_is_503_with_retry_after(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.errors import StorageError
    from gateway.web import api

    async def broken(*args: object, **kwargs: object) -> None:
        raise StorageError("database: disk I/O error")

    monkeypatch.setattr(api, "submit", broken)  # the daemon runs in this process
    response = client.post()
    refused(response, 503, "unavailable")
    assert response.headers["retry-after"] == "30" and count(client.gw.db, receipts) == 0


# -- the OpenAPI document ------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_endpoint_as_it_is(client: Client) -> None:
    web = client.gw
    response = httpx.get(f"http://127.0.0.1:{web.parts.http.port}/api/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"] == JSON_TYPE
    doc = response.json()
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": web.settings.web_url}]
    post = doc["paths"]["/api/v1/feedback"]["post"]
    assert set(post["responses"]) == {"202", "401", "409", "413", "422", "429", "503"}
    assert post["security"] == [{"gatewayClient": [], "gatewaySignature": []}]
    schemes = doc["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {"X-Gateway-Client", "X-Gateway-Signature"}
    assert all(s["type"] == "apiKey" and s["in"] == "header" for s in schemes.values())
    feedback = doc["components"]["schemas"]["Feedback"]
    assert feedback["additionalProperties"] is False and feedback["required"] == ["text"]
    assert set(feedback["properties"]) == {
        "text", "category", "location", "address", "contact", "language", "consent_to_publish", "photos",
    }  # fmt: skip
    [category] = [b for b in feedback["properties"]["category"]["anyOf"] if b.get("type") == "string"]
    assert (
        set(category["enum"]) == set(web.live.current.categories) and "park-maintenance" in category["enum"]
    )
    for name in ("Location", "Contact", "PhotoUpload", "Error", "Accepted"):
        assert doc["components"]["schemas"][name]["additionalProperties"] is False
    assert json.dumps(doc).count("#/$defs/") == 0  # every $ref resolves inside the document


# -- fuzzing from the document -------------------------------------------------------------------------


def test_fuzzed_from_its_own_openapi_document_every_answer_is_documented(client: Client) -> None:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    base = f"http://127.0.0.1:{client.gw.parts.http.port}"
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    operation = schema["/api/v1/feedback"]["POST"]
    conformance = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]

    class Sign(requests.auth.AuthBase):
        """Signs each generated request's final bytes, as a real client would."""

        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            body = request.body or b""
            body = body.encode() if isinstance(body, str) else body
            t = client.now()
            request.headers["X-Gateway-Client"] = client.name
            request.headers["X-Gateway-Signature"] = f"t={t},v1={signature(client.secret, t, body)}"
            return request

    seen: dict[int, int] = {}
    fuzz_settings = settings(
        max_examples=100,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )

    def run(mode: schemathesis.GenerationMode) -> None:
        @fuzz_settings
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(base_url=base, auth=Sign(), timeout=30)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            case.validate_response(response, checks=conformance)

        fuzz()

    run(schemathesis.GenerationMode.POSITIVE)
    run(schemathesis.GenerationMode.NEGATIVE)
    assert seen.get(202) and seen.get(422), seen  # both the stored and the refused paths were reached
    assert not any(status >= 500 for status in seen), seen


# -- gateway client add / list / disable ---------------------------------------------------------------


@pytest.fixture
def cli(
    web: RunningDaemon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """`gateway ...` on the daemon's database, answering (exit code, stdout, stderr)."""
    monkeypatch.delenv("GATEWAY_SETTINGS", raising=False)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", web.settings.database_url)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_client_add_prints_the_secret_once_and_it_signs_requests(
    web: RunningDaemon, cli: Callable[..., tuple[int, str, str]]
) -> None:
    code, out, err = cli("client", "add", "kaupunkiapp")
    assert code == 0, err
    secret = out.strip()
    assert len(secret) >= 40 and out == f"{secret}\n"  # the secret alone on stdout: SECRET=$(...) works
    assert (out + err).count(secret) == 1
    assert (
        "shown only now" in err
        and "X-Gateway-Client: kaupunkiapp" in err
        and "X-Gateway-Signature: t=" in err
    )
    assert accepted(Client(web, "kaupunkiapp", secret).post())

    code, out, err = cli("client", "add", "palautebot", "--open311")
    key = out.strip()
    assert code == 0 and "api_key" in err and (out + err).count(key) == 1
    with web.db.read() as conn:
        row = conn.execute(select(api_clients).where(api_clients.c.name == "palautebot")).one()
        assert row.secret == "" and row.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
        assert clients.open311_client(conn, key) == "palautebot" and clients.open311_client(conn, "x") is None

    code, out, err = cli("client", "list")
    assert code == 0 and secret not in out + err and key not in out + err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "CREATED", "DISABLED"]
    assert lines[1].split()[:2] == ["kaupunkiapp", "webhook"] and lines[1].split()[-1] == "-"
    assert lines[2].split()[:2] == ["palautebot", "open311"]
    code, out, _ = cli("client", "list", "--json")
    listed = json.loads(out)
    assert [c["name"] for c in listed] == ["kaupunkiapp", "palautebot"] and secret not in out
    assert set(listed[0]) == {"name", "kind", "created", "disabled"}

    code, _, err = cli("client", "disable", "kaupunkiapp")
    assert code == 0 and "disabled" in err
    refused(Client(web, "kaupunkiapp", secret).post(), 401, "unknown-client")
    code, out, _ = cli("client", "list", "--json")
    assert json.loads(out)[0]["disabled"] is not None
    code, _, err = cli("client", "disable", "kaupunkiapp")
    assert code == 0 and "already" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("client", "add", "Kaupunki App"), "is not a client name"),
        (("client", "add", "_x"), "is not a client name"),
        (("client", "add", "x" * 65), "is not a client name"),
        (("client", "add", "form"), "reserved"),
        (("client", "add", "taken"), "exists already"),
        (("client", "add", "taken", "--open311"), "exists already"),
        (("client", "disable", "nobody"), "no client named 'nobody'"),
    ],
)
def test_client_errors_are_a_sentence_on_stderr_and_a_nonzero_exit(
    cli: Callable[..., tuple[int, str, str]], argv: tuple[str, ...], words: str
) -> None:
    assert cli("client", "add", "taken")[0] == 0
    code, out, err = cli(*argv)
    assert code != 0 and words in err and out == ""
    assert err.startswith("gateway: ")


def test_client_list_with_none_says_so(cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = cli("client", "list")
    assert code == 0 and out == "" and "no API clients" in err


def test_the_store_refuses_bad_names_and_duplicates(db: Any) -> None:
    from gateway.errors import Conflict

    with db.write() as conn:
        clients.add_client(conn, "a.b_c-1", "webhook", NOW)
        with pytest.raises(ValueError, match="not a client name"):
            clients.add_client(conn, "A", "webhook", NOW)
        with pytest.raises(ValueError, match="kind"):
            clients.add_client(conn, "z", "smtp", NOW)  # type: ignore[arg-type]
        with pytest.raises(Conflict):
            clients.add_client(conn, "a.b_c-1", "open311", NOW)
        assert clients.webhook_secret(conn, "a.b_c-1") is not None
        assert clients.disable_client(conn, "a.b_c-1", NOW + timedelta(hours=1))
        assert not clients.disable_client(conn, "nobody", NOW)
        assert clients.webhook_secret(conn, "a.b_c-1") is None
        assert clients.disable_client(conn, "a.b_c-1", NOW + timedelta(hours=2))  # keeps the first time
        [found] = clients.list_clients(conn)
    assert found.disabled_at == NOW + timedelta(hours=1) and not found.enabled
