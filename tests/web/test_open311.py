"""Open311 GeoReport v2 under /open311/v2/ against a real daemon (uvicorn in its loop, the receipt writer,
intake) on SQLite and PostgreSQL (issue 17): read through the `georeport` client from the package index,
POSTed form-encoded as Helsinki's palautebot does, and every answer checked against the specification's
field types in JSON and in XML. Only published cases are listed; any case is readable by its code with
its description withheld until it is published; nothing personal leaves in any answer."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from georeport import GeoReport  # type: ignore[import-untyped]
from sqlalchemy import select

from gateway.errors import StorageError
from gateway.model import Channel
from gateway.store import cases as case_store
from gateway.store.public import find_public_case, publish
from gateway.store.tables import api_clients, attachments, case_events, cases, outbox, publications, receipts
from gateway.web import open311
from tests.support.daemon import START, RunningDaemon, wait_for
from tests.support.mail import count, receipt_mail

SHIPPED = Path(__file__).resolve().parents[2]  # the repository's departments.yaml with its categories
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
KEY = "palautebot-open311-key-0123456789"
TWEET = "Palautetta Twitteristä: Hakaniemen sillan kaiteessa on iso reikä, ja siitä voi pudota."
# What a resident told and must never be shown by Open311: the name, address, phone and own words.
PERSONAL = ("Maija", "Meikäläinen", "maija@example.fi", "040 765 4321", "Testi Tunnus", "testi@example.fi",
            "0401112222", "salainen kotiosoite", "Hakaniemen sillan", "OMA TEKSTI")  # fmt: skip
HELSINKI_OFFICE = "kaupunkiympariston-asiakaspalvelu"  # a department of the shipped departments.yaml


# -- the daemon, its clients and its cases -------------------------------------------------------------


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    gw = start_gateway(
        config_dir=SHIPPED, web_posts_per_client_per_minute=0, track_lookups_per_client_per_minute=0
    )
    add_client(gw, "palautebot", "open311", KEY)
    return gw


def add_client(gw: RunningDaemon, name: str, kind: str, key: str, disabled: bool = False) -> None:
    """An API client as `gateway client add NAME --open311` makes it: the key kept as its SHA-256."""
    with gw.db.write() as conn:
        conn.execute(
            api_clients.insert().values(
                name=name, kind=kind, secret="", key_sha256=hashlib.sha256(key.encode()).hexdigest(),
                created_at=START, disabled_at=START if disabled else None,
            )
        )  # fmt: skip


def root(gw: RunningDaemon) -> str:
    return f"http://127.0.0.1:{gw.parts.http.port}/open311/v2"


def get(gw: RunningDaemon, path: str, **params: str) -> httpx.Response:
    """A GET of the Open311 API; no answer ever carries anything personal."""
    response = httpx.get(root(gw) + path, params=params)
    for personal in PERSONAL:
        assert personal not in response.text, (path, personal)
    return response


def palautebot(
    gw: RunningDaemon,
    path: str = "/requests.json",
    form: Mapping[str, str | None] | None = None,
    **fields: str | None,
) -> httpx.Response:
    """POST a service request form-encoded, the way Helsinki's palautebot does (feedback/open311.py)."""
    data: dict[str, str | None] = {
        "api_key": KEY,
        "service_code": "172",
        "title": "Twitter Feedback",
        "description": TWEET,
        "first_name": "Testi",
        "last_name": "Tunnus",
        "email": "testi@example.fi",
        "lat": None,  # a tweet without a place: palautebot sends None
        "long": None,
    }
    data.update(form or {})
    data.update(fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = httpx.post(root(gw) + path, data=data, headers=headers)
    for personal in PERSONAL:
        assert personal not in response.text, (path, personal)
    return response


def ticket_id(response: httpx.Response) -> str:
    """What palautebot's create_ticket does with the answer."""
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == JSON_TYPE
    answer = response.json()
    for entry in answer:
        assert "code" not in entry, entry
    check_requests_json(answer)
    return str(answer[0]["service_request_id"])


def case_of(gw: RunningDaemon, code: str) -> Any:
    def find() -> Any:
        with gw.db.read() as conn:
            return conn.execute(select(cases).where(cases.c.code == code)).first()

    return wait_for(find, what=f"the case {code}")


def a_case(
    gw: RunningDaemon,
    code: str,
    created: datetime,
    *,
    status: str = "routed",
    updated: datetime | None = None,
    category: str | None = "pothole",
    language: str = "fi",
    due: datetime | None = None,
    published: tuple[str, str] | None = ("Kuoppa Mannerheimintiellä.", ""),
    withdrawn: bool = False,
) -> int:
    """A case as intake would have made it, with a resident's personal data, published when asked."""
    with gw.db.write() as conn:
        case_id = case_store.insert_case(
            conn, code=code, status=status, channel="open311", created_at=created,
            updated_at=updated or created, resident_email="maija@example.fi",
            resident_name="Maija Meikäläinen", resident_phone="040 765 4321", language=language,
            subject="OMA TEKSTI", text="OMA TEKSTI: kuoppa kotini edessä", department=HELSINKI_OFFICE,
            due_at=due, category=category, latitude=60.1699, longitude=24.9384,
            address="Mannerheimintie 1",
        )  # fmt: skip
        if published is not None:
            publish(conn, case_id, published[0], published[1], created, "moderator")
        if withdrawn:
            conn.execute(
                publications.update().where(publications.c.case_id == case_id).values(withdrawn_at=created)
            )
    return case_id


# -- the specification's field types --------------------------------------------------------------------

ISO_WITH_ZONE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
# field → (type, required) of a request in GET requests, requests/{id}, POST requests and tokens/{id}
REQUEST_FIELDS = {
    "service_request_id": ("string", True),
    "status": ("status", False),
    "status_notes": ("string", False),
    "service_name": ("string", False),
    "service_code": ("string", False),
    "description": ("string", False),
    "agency_responsible": ("string", False),
    "service_notice": ("string", False),
    "requested_datetime": ("datetime", False),
    "updated_datetime": ("datetime", False),
    "expected_datetime": ("datetime", False),
    "address": ("string", False),
    "address_id": ("string", False),
    "zipcode": ("string", False),
    "lat": ("number", False),
    "long": ("number", False),
    "media_url": ("string", False),
    "token": ("string", False),
    "account_id": ("string", False),
    "extended_attributes": ("object", False),
}
LISTED = ("status", "requested_datetime", "updated_datetime")  # what every listed request has besides its id
SERVICE_FIELDS = {
    "service_code": ("string", True),
    "service_name": ("string", True),
    "description": ("string", False),
    "metadata": ("boolean", True),
    "type": ("type", True),
    "keywords": ("string", False),
    "group": ("string", False),
}


def check_value(kind: str, value: Any, where: str) -> None:
    """A JSON value of the specification's *kind*; null stands for an empty optional field."""
    if value is None:
        return
    if kind == "string":
        assert isinstance(value, str), where
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), where
    elif kind == "boolean":
        assert isinstance(value, bool), where
    elif kind == "datetime":
        assert isinstance(value, str) and ISO_WITH_ZONE.fullmatch(value), (where, value)
        assert datetime.fromisoformat(value).tzinfo is not None
    elif kind == "status":
        assert value in ("open", "closed"), where
    elif kind == "type":
        assert value in ("realtime", "batch", "blackbox"), where
    elif kind == "object":
        assert isinstance(value, dict), where
        check_extended(value)


def check_text(kind: str, text: str | None, where: str) -> None:
    """An XML element's text of the specification's *kind*; empty stands for an empty optional field."""
    if not text:
        return
    if kind == "number":
        float(text)
    elif kind == "boolean":
        assert text in ("true", "false"), where
    elif kind in ("datetime", "status", "type"):
        check_value(kind, text, where)


def check_extended(doc: dict[str, Any]) -> None:
    assert doc["detailed_status"] in ("received", "in process", "answered", "closed")
    for step in doc["timeline"]:
        assert set(step) == {"kind", "at"} and isinstance(step["kind"], str)
        check_value("datetime", step["at"], "timeline")


def check_fields(doc: dict[str, Any], fields: dict[str, tuple[str, bool]]) -> None:
    assert set(doc) <= set(fields), set(doc) - set(fields)
    for name, (kind, required) in fields.items():
        if required:
            assert doc.get(name) not in (None, ""), name
        check_value(kind, doc.get(name), name)


def check_requests_json(answer: Any) -> list[dict[str, Any]]:
    assert isinstance(answer, list)
    for doc in answer:
        assert isinstance(doc, dict)
        check_fields(doc, REQUEST_FIELDS)
    return answer


def requests_json(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_TYPE
    return check_requests_json(response.json())


def requests_xml(response: httpx.Response, status: int = 200) -> list[dict[str, str | None]]:
    """`<service_requests><request>...` as dicts of the fields' texts (extended_attributes left out)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == XML_TYPE
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    tree = ET.fromstring(response.content)
    assert tree.tag == "service_requests"
    found = []
    for request in tree:
        assert request.tag == "request"
        doc: dict[str, str | None] = {}
        for field in request:
            assert field.tag in REQUEST_FIELDS, field.tag
            kind, required = REQUEST_FIELDS[field.tag]
            if kind == "object":
                continue
            assert not required or field.text, field.tag
            check_text(kind, field.text, field.tag)
            doc[field.tag] = field.text
        assert doc.get("service_request_id")
        found.append(doc)
    return found


def as_text(value: Any) -> str | None:
    """A JSON value as its XML element's text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def same_in_json_and_xml(gw: RunningDaemon, path: str, **params: str) -> list[dict[str, Any]]:
    """The resource at *path* in both formats, field for field the same; the JSON returned."""
    as_json = requests_json(get(gw, f"{path}.json", **params))
    as_xml = requests_xml(get(gw, f"{path}.xml", **params))
    expected = [
        {k: as_text(v) for k, v in doc.items() if k != "extended_attributes" and v is not None}
        for doc in as_json
    ]
    assert [{k: v for k, v in doc.items() if v is not None} for doc in as_xml] == expected
    return as_json


def error(response: httpx.Response, status: int, xml: bool = False) -> str:
    """The specification's error body, in JSON or XML; its description."""
    assert response.status_code == status, response.text
    if xml:
        assert response.headers["content-type"] == XML_TYPE
        tree = ET.fromstring(response.content)
        assert tree.tag == "errors" and [e.tag for e in tree] == ["error"]
        assert tree.findtext("error/code") == str(status)
        description = tree.findtext("error/description")
    else:
        assert response.headers["content-type"] == JSON_TYPE
        [entry] = response.json()
        assert set(entry) == {"code", "description"} and entry["code"] == status
        description = entry["description"]
    assert isinstance(description, str) and description
    return description


def ids(docs: list[dict[str, Any]]) -> list[str]:
    return [str(d["service_request_id"]) for d in docs]


# -- discovery and services -----------------------------------------------------------------------------


def test_discovery_and_services_in_json_and_xml_as_the_specification_gives_them(web: RunningDaemon) -> None:
    discovery = get(web, "/discovery.json")
    assert discovery.headers["content-type"] == JSON_TYPE
    doc = discovery.json()
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and set(endpoint["formats"]) == {
        "text/xml",
        "application/json",
    }
    check_value("datetime", doc["changeset"], "changeset")
    check_value("datetime", endpoint["changeset"], "changeset")
    assert doc["changeset"].endswith("+02:00")  # in the city's time zone (December: EET)
    tree = ET.fromstring(get(web, "/discovery.xml").content)
    assert (
        tree.tag == "discovery"
        and tree.findtext("endpoints/endpoint/specification") == endpoint["specification"]
    )
    assert [f.text for f in tree.findall("endpoints/endpoint/formats/format")] == endpoint["formats"]

    services = get(web, "/services.json")
    assert services.headers["content-type"] == JSON_TYPE
    listed = services.json()
    for service in listed:
        check_fields(service, SERVICE_FIELDS)
    by_code = {s["service_code"]: s for s in listed}
    assert by_code["173"]["service_name"] == "Talvikunnossapito" and by_code["173"]["group"] == "streets"
    assert by_code["173"]["metadata"] is False and by_code["173"]["type"] == "realtime"
    swedish = {s["service_code"]: s for s in get(web, "/services.json", locale="sv").json()}
    assert swedish["173"]["service_name"] == "Vinterunderhåll"
    xml = get(web, "/services.xml")
    assert xml.headers["content-type"] == XML_TYPE
    tree = ET.fromstring(xml.content)
    assert tree.tag == "services" and [s.tag for s in tree] == ["service"] * len(listed)
    for element, service in zip(tree, listed, strict=True):
        assert {f.tag for f in element} <= set(SERVICE_FIELDS)
        for field in element:
            check_text(SERVICE_FIELDS[field.tag][0], field.text, field.tag)
            assert field.text == as_text(service[field.tag])

    definition = get(web, "/services/173.json")
    assert definition.headers["content-type"] == JSON_TYPE
    assert definition.json() == {"service_code": "173", "attributes": []}
    tree = ET.fromstring(get(web, "/services/173.xml").content)
    assert tree.tag == "service_definition" and tree.findtext("service_code") == "173"
    attributes = tree.find("attributes")
    assert attributes is not None and len(attributes) == 0
    assert "999" in error(get(web, "/services/999.json"), 404)
    error(get(web, "/services/999.xml"), 404, xml=True)


def test_the_georeport_client_reads_services_and_requests_in_json_and_in_xml(web: RunningDaemon) -> None:
    a_case(web, "HEL-TEST-0001", START - timedelta(days=2), published=("Kuoppa tiessä.", "Korjataan."))
    a_case(web, "HEL-TEST-0002", START - timedelta(days=1), status="answered", category="parking",
           published=("Auto jalkakäytävällä.", "Valvoja kävi paikalla."))  # fmt: skip
    for output in ("json", "xml"):
        client = GeoReport(root(web), output_format=output)
        services = client.get_service_list()
        assert {s["service_code"] for s in services} >= {"171", "172", "173"}
        assert client.get_service_definition("172")["service_code"] == "172"
        listed = client.get_service_requests()
        assert [r["service_request_id"] for r in listed] == ["HEL-TEST-0002", "HEL-TEST-0001"]  # newest first
        one = client.get_service_request("HEL-TEST-0001")
        assert (
            one["status"] == "open"
            and one["description"] == "Kuoppa tiessä."
            and one["status_notes"] == "Korjataan."
        )
        closed = client.get_service_requests(status="closed", service_code="190")
        closed = closed if isinstance(closed, list) else [closed]  # xmltodict: one element is no list
        assert [r["service_request_id"] for r in closed] == ["HEL-TEST-0002"]
        ranged = client.get_service_requests(
            start_date="2026-03-08T00:00:00Z", end_date="2026-03-09T00:00:00Z"
        )
        ranged = ranged if isinstance(ranged, list) else [ranged]
        assert [r["service_request_id"] for r in ranged] == ["HEL-TEST-0001"]


# -- sending a request as palautebot does ---------------------------------------------------------------


def test_a_palautebot_post_becomes_a_case_with_the_returned_code_readable_at_once(web: RunningDaemon) -> None:
    response = palautebot(web, media_url="https://pbs.twimg.com/media/DCQ3t3TW0AEYlqU.jpg")
    code = ticket_id(response)
    assert re.fullmatch(r"HEL-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    assert response.headers["location"].endswith(f"/open311/v2/requests/{code}.json")
    notice = response.json()[0]["service_notice"]
    assert (
        f"/track/{code}" in notice and "media_url" in notice
    )  # the photo link was not taken, and it says so
    assert response.json()[0]["account_id"] is None

    # palautebot polls requests/{id}.json for the answer in status_notes: readable at once, nothing shown
    polled = requests_json(get(web, f"/requests/{code}.json"))
    assert polled[0]["service_request_id"] == code and (polled[0]["status_notes"] or "") == ""
    assert polled[0]["status"] == "open" and "description" not in polled[0]
    assert set(polled[0]) <= {"service_request_id", "status", "status_notes", "requested_datetime",
                              "updated_datetime", "expected_datetime"}  # fmt: skip

    row = case_of(web, code)
    assert row.channel == Channel.OPEN311 and row.category == "pothole"
    assert row.latitude is None and row.longitude is None
    assert row.text == f"Twitter Feedback\n\n{TWEET}"  # the title is the first line, as a subject would be
    assert row.resident_name == "Testi Tunnus" and row.resident_email == "testi@example.fi"
    assert count(web.db, attachments, attachments.c.case_id == row.id) == 0  # the media URL was not fetched
    with web.db.read() as conn:
        receipt = conn.execute(select(receipts).where(receipts.c.tracking_code == code)).one()
    assert receipt.channel == "open311" and receipt.client == "palautebot"
    [mail] = wait_for(lambda: receipt_mail(web.maildir), what="the receipt mail")
    assert code in str(mail["Subject"])

    polled = same_in_json_and_xml(web, f"/requests/{code}")  # once routed, still nothing but status and dates
    assert polled[0]["expected_datetime"] is not None and "agency_responsible" not in polled[0]

    with web.db.write() as conn:
        conn.execute(cases.update().where(cases.c.id == row.id).values(status="answered"))
        publish(
            conn, row.id, "Sillan kaiteessa on reikä.", "Kaide korjataan tällä viikolla.", web.clock(), "m"
        )
    answered = same_in_json_and_xml(web, f"/requests/{code}")
    assert answered[0]["status_notes"] == "Kaide korjataan tällä viikolla."  # what palautebot tweets back
    assert answered[0]["status"] == "closed" and answered[0]["description"] == "Sillan kaiteessa on reikä."
    assert answered[0]["service_code"] == "172" and answered[0]["expected_datetime"] is None
    assert ids(requests_json(get(web, "/requests.json"))) == [code]


def test_a_post_with_coordinates_and_a_language_in_xml(web: RunningDaemon) -> None:
    response = palautebot(
        web, "/requests.xml", lat="60.1790", long="24.9510", address_string="Hakaniementori",
        locale="sv_FI", phone="0401112222", service_code="173",
    )  # fmt: skip
    assert response.status_code == 201 and response.headers["content-type"] == XML_TYPE
    [answer] = requests_xml(response, 201)
    code = str(answer["service_request_id"])
    assert "Responsen har tagits emot" in str(answer["service_notice"]) and "media_url" not in str(answer)
    assert response.headers["location"].endswith(f"/requests/{code}.xml")
    row = case_of(web, code)
    assert (row.latitude, row.longitude) == (60.179, 24.951) and row.address == "Hakaniementori"
    assert (
        row.category == "winter-maintenance" and row.language == "sv" and row.resident_phone == "0401112222"
    )


def test_a_post_without_the_api_key_of_an_open311_client_is_403_and_nothing_is_stored(
    web: RunningDaemon,
) -> None:
    add_client(web, "gone", "open311", "disabled-key", disabled=True)
    add_client(web, "hook", "webhook", "webhook-key")
    for key in (None, "", "wrong-key", "disabled-key", "webhook-key", KEY.upper()):
        error(palautebot(web, api_key=key), 403)
    error(palautebot(web, "/requests.xml", api_key="wrong-key"), 403, xml=True)
    assert count(web.db, receipts) == 0


BAD_FIELDS: list[tuple[dict[str, str | None], str]] = [
    ({"description": "Liian lyh"}, "at least 10"),
    ({"description": "x" * 5001}, "at most 5000"),
    ({"description": None}, "required"),
    ({"description": " \x00\x01  \n"}, "required"),  # control characters and spaces are no text
    ({"service_code": "999"}, "unknown service_code"),
    ({"lat": "59.0", "long": "24.9"}, "outside the city"),
    ({"lat": "60.17", "long": None}, "both latitude and longitude"),
    ({"lat": "north", "long": "east"}, "decimal degrees"),
    ({"lat": "nan", "long": "nan"}, "numbers"),
    ({"email": "not an address"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"first_name": "M" * 201}, "first_name/last_name"),
    ({"address_string": "a\nb"}, "address_string"),
    ({"title": "t" * 201}, "title"),
]


def test_bad_fields_are_400_saying_which_and_nothing_is_stored(web: RunningDaemon) -> None:
    for fields, words in BAD_FIELDS:
        assert words in error(palautebot(web, form=fields), 400), fields
        assert words in error(palautebot(web, "/requests.xml", fields), 400, xml=True), fields
    assert count(web.db, receipts) == 0


def test_a_body_that_is_no_form_is_400(web: RunningDaemon) -> None:
    as_json = httpx.post(root(web) + "/requests.json", json={"api_key": KEY, "description": TWEET})
    assert "form-encoded" in error(as_json, 400)
    with_file = httpx.post(
        root(web) + "/requests.json",
        data={"api_key": KEY, "description": TWEET},
        files={"media": b"\xff\xd8"},
    )
    assert "no files" in error(with_file, 400)
    assert count(web.db, receipts) == 0


def test_posts_and_look_ups_beyond_the_rate_limits_are_429_with_retry_after(
    start_gateway: Callable[..., RunningDaemon],
) -> None:
    gw = start_gateway(
        config_dir=SHIPPED, web_posts_per_client_per_minute=1, track_lookups_per_client_per_minute=2
    )
    add_client(gw, "palautebot", "open311", KEY)
    code = ticket_id(palautebot(gw))
    refused = palautebot(gw, "/requests.xml")
    error(refused, 429, xml=True)
    assert int(refused.headers["retry-after"]) >= 1
    assert requests_json(get(gw, f"/requests/{code}.json"))
    assert get(gw, f"/tokens/{code}.json").status_code == 200
    looked_up = get(gw, f"/requests/{code}.json")
    error(looked_up, 429)
    assert int(looked_up.headers["retry-after"]) >= 1
    assert requests_json(get(gw, "/requests.json")) == []  # listing what is public is not a look-up
    assert count(gw.db, receipts) == 1


def test_nothing_readable_or_stored_is_503_with_retry_after(
    web: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def not_stored(*args: object, **kwargs: object) -> None:
        raise StorageError("database: disk full")

    def not_read(*args: object, **kwargs: object) -> None:
        raise StorageError("database: gone")

    monkeypatch.setattr(open311, "submit", not_stored)  # the daemon runs in this process
    monkeypatch.setattr(open311, "public_requests", not_read)
    refused = palautebot(web)
    error(refused, 503)
    assert refused.headers["retry-after"] == "30"
    error(get(web, "/requests.xml"), 503, xml=True)


# -- reading requests ---------------------------------------------------------------------------------------


def test_only_published_cases_are_listed_with_the_published_texts_and_nothing_personal(
    web: RunningDaemon,
) -> None:
    day = timedelta(days=1)
    a_case(web, "HEL-TEST-0001", START - 5 * day, due=START + 2 * day, published=("Kuoppa tiessä.", ""))
    a_case(web, "HEL-TEST-0002", START - 4 * day, status="answered", language="sv",
           published=("En grop i vägen.", "Gropen lagas."))  # fmt: skip
    a_case(
        web,
        "HEL-TEST-0003",
        START - 3 * day,
        status="closed",
        category=None,
        published=("Kiitos.", "Suljettu."),
    )
    a_case(web, "HEL-TEST-0004", START - 2 * day, published=None)  # not published
    a_case(web, "HEL-TEST-0005", START - 1 * day, withdrawn=True)  # published, then withdrawn
    listed = same_in_json_and_xml(web, "/requests")
    assert ids(listed) == ["HEL-TEST-0003", "HEL-TEST-0002", "HEL-TEST-0001"]
    for doc in listed:
        assert all(doc.get(field) for field in LISTED)
        assert "media_url" not in doc
    closed, answered, open_ = listed
    assert (
        open_["status"] == "open"
        and open_["status_notes"] is None
        and open_["description"] == "Kuoppa tiessä."
    )
    assert open_["expected_datetime"] == "2026-03-12T10:00:00+02:00"  # the due time, in the city's offset
    assert open_["requested_datetime"] == "2026-03-05T10:00:00+02:00"
    assert open_["agency_responsible"] == "Kaupunkiympäristön asiakaspalvelu"
    assert open_["service_code"] == "172" and open_["service_name"] == "Kuoppa tiessä"
    # the place as typed is not moderated and never shown (decision 0029); the point is
    assert "Mannerheimintie" not in str(listed) and (open_["lat"], open_["long"]) == (60.1699, 24.9384)
    assert "/track/HEL-TEST-0001" in open_["service_notice"]
    assert answered["status"] == "closed" and answered["status_notes"] == "Gropen lagas."
    assert answered["service_name"] == "Grop i vägen"  # in the request's language
    assert answered["expected_datetime"] is None
    assert closed["service_code"] is None and closed["service_name"] is None
    english = requests_json(get(web, "/requests.json", locale="en"))
    assert english[1]["service_name"] == "Pothole" and english[1]["agency_responsible"].startswith("Urban")

    withheld = same_in_json_and_xml(web, "/requests/HEL-TEST-0004")  # unpublished: status and dates only
    assert set(withheld[0]) == {"service_request_id", "status", "status_notes", "requested_datetime",
                                "updated_datetime", "expected_datetime"}  # fmt: skip
    assert requests_json(get(web, "/requests/hel-test-0005.json"))[0]["service_request_id"] == "HEL-TEST-0005"
    assert "description" not in requests_json(get(web, "/requests/HEL-TEST-0005.json"))[0]  # withdrawn
    assert requests_json(get(web, "/requests/HEL-TEST-0002.json"))[0] == answered


def test_the_listing_covers_at_most_90_days(web: RunningDaemon) -> None:
    day = timedelta(days=1)
    a_case(web, "HEL-TEST-0100", START - 100 * day)
    a_case(web, "HEL-TEST-0080", START - 80 * day)
    a_case(web, "HEL-TEST-0010", START - 10 * day)
    assert ids(requests_json(get(web, "/requests.json"))) == [
        "HEL-TEST-0010",
        "HEL-TEST-0080",
    ]  # the last 90 days
    old = {"start_date": "2025-11-01T00:00:00Z"}
    assert ids(requests_json(get(web, "/requests.json", **old))) == [
        "HEL-TEST-0080",
        "HEL-TEST-0100",
    ]  # 90 days on
    assert ids(requests_json(get(web, "/requests.json", end_date="2025-12-01"))) == ["HEL-TEST-0100"]
    span = {"start_date": "2025-11-01T00:00:00+02:00", "end_date": "2026-03-10T00:00:00+02:00"}
    assert "90 days" in error(get(web, "/requests.json", **span), 400)
    error(get(web, "/requests.xml", **span), 400, xml=True)
    backwards = {"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"}
    assert "before" in error(get(web, "/requests.json", **backwards), 400)
    assert "start_date" in error(get(web, "/requests.json", start_date="yesterday"), 400)
    exact = {
        "start_date": "2026-02-28T10:00:00+02:00",
        "end_date": "2026-02-28T10:00:00+02:00",
    }  # 10 days ago
    assert ids(requests_json(get(web, "/requests.json", **exact))) == ["HEL-TEST-0010"]
    unescaped = httpx.get(
        root(web) + "/requests.json?start_date=2026-02-28T10:00:00+02:00&end_date=2026-03-01"
    )
    assert ids(requests_json(unescaped)) == ["HEL-TEST-0010"]  # a '+' sent as it is arrives as a space


def test_service_request_id_overrides_every_other_filter(web: RunningDaemon) -> None:
    a_case(web, "HEL-TEST-0100", START - timedelta(days=100), status="closed")
    a_case(web, "HEL-TEST-0001", START - timedelta(days=1), category="parking")
    a_case(web, "HEL-TEST-0002", START - timedelta(days=1), published=None)
    wanted = "hel-test-0001, HEL-TEST-0100,HEL-TEST-0002,not-a-code,HEL-0000-0000"
    for filters in (
        {},
        {"status": "open", "service_code": "172", "start_date": "2026-03-01", "page_size": "1"},
    ):
        listed = requests_json(get(web, "/requests.json", service_request_id=wanted, **filters))
        assert ids(listed) == ["HEL-TEST-0001", "HEL-TEST-0100"]  # public ones only, newest first
    too_many = ",".join("x" * 1001)
    error(get(web, "/requests.json", service_request_id=too_many), 400)


def test_filters_by_service_code_and_status(web: RunningDaemon) -> None:
    a_case(web, "HEL-TEST-0001", START - timedelta(days=3), category="parking")
    a_case(web, "HEL-TEST-0002", START - timedelta(days=2), status="waiting")
    a_case(web, "HEL-TEST-0003", START - timedelta(days=1), status="closed")
    assert ids(requests_json(get(web, "/requests.json", service_code="190"))) == ["HEL-TEST-0001"]
    assert ids(requests_json(get(web, "/requests.json", service_code="190,172"))) == [
        "HEL-TEST-0003", "HEL-TEST-0002", "HEL-TEST-0001"
    ]  # fmt: skip
    assert ids(requests_json(get(web, "/requests.json", status="open"))) == ["HEL-TEST-0002", "HEL-TEST-0001"]
    assert ids(requests_json(get(web, "/requests.json", status="closed"))) == ["HEL-TEST-0003"]
    assert len(requests_json(get(web, "/requests.json", status="open,closed"))) == 3
    assert "unknown service_code" in error(get(web, "/requests.json", service_code="999"), 400)
    assert "status" in error(get(web, "/requests.xml", status="pending"), 400, xml=True)


def test_pages_newest_first(web: RunningDaemon) -> None:
    for i in range(5):
        a_case(web, f"HEL-TEST-{i:04d}", START - timedelta(hours=10 - i))
    a_case(web, "HEL-TEST-0009", START - timedelta(hours=6))  # the same time as 0004: the later id first
    pages = [ids(requests_json(get(web, "/requests.json", page_size="2", page=str(n)))) for n in (1, 2, 3, 4)]
    assert pages == [["HEL-TEST-0009", "HEL-TEST-0004"], ["HEL-TEST-0003", "HEL-TEST-0002"],
                     ["HEL-TEST-0001", "HEL-TEST-0000"], []]  # fmt: skip
    for bad in ({"page_size": "0"}, {"page_size": "1001"}, {"page": "0"}, {"page": "x"}, {"page_size": "-1"}):
        error(get(web, "/requests.json", **bad), 400)


def test_updated_after_and_before(web: RunningDaemon) -> None:
    old = START - timedelta(days=200)
    a_case(web, "HEL-TEST-0001", old, updated=START - timedelta(days=2))  # old, but touched lately
    a_case(web, "HEL-TEST-0002", START - timedelta(days=5), updated=START - timedelta(days=4))
    a_case(web, "HEL-TEST-0003", START - timedelta(days=5), updated=START - timedelta(hours=1))
    after = {"updated_after": (START - timedelta(days=3)).isoformat()}
    assert ids(requests_json(get(web, "/requests.json", **after))) == ["HEL-TEST-0003", "HEL-TEST-0001"]
    both = after | {"updated_before": (START - timedelta(hours=2)).isoformat()}
    assert ids(requests_json(get(web, "/requests.json", **both))) == ["HEL-TEST-0001"]
    with_dates = after | {"start_date": (START - timedelta(days=10)).isoformat()}  # creation bounds it too
    assert ids(requests_json(get(web, "/requests.json", **with_dates))) == ["HEL-TEST-0003"]
    wide = {"updated_after": "2025-01-01T00:00:00Z", "updated_before": "2026-03-10T00:00:00Z"}
    assert "90 days" in error(get(web, "/requests.json", **wide), 400)


def test_extensions_add_the_detailed_status_and_the_public_timeline(web: RunningDaemon) -> None:
    code = ticket_id(palautebot(web))
    row = case_of(web, code)
    wait_for(
        lambda: count(web.db, case_events, case_events.c.case_id == row.id, case_events.c.kind == "routed")
    )
    answered_at = START + timedelta(hours=3)
    with web.db.write() as conn:  # an interim notice sent, then an answer: the timeline shows both
        conn.execute(
            outbox.insert().values(
                dedupe_key="interim-test", kind="interim", case_id=row.id, recipient="testi@example.fi",
                state="sent", next_attempt_at=START, created_at=START, sent_at=START + timedelta(hours=1),
            )
        )  # fmt: skip
        conn.execute(
            case_events.insert().values(case_id=row.id, kind="answer", at=answered_at, text="OMA TEKSTI")
        )
        conn.execute(
            cases.update().where(cases.c.id == row.id).values(status="answered", updated_at=answered_at)
        )
    unpublished = requests_json(get(web, f"/requests/{code}.json", extensions="true"))[0][
        "extended_attributes"
    ]
    assert unpublished["detailed_status"] == "answered"
    assert [s["kind"] for s in unpublished["timeline"]] == ["received", "routed", "interim", "answered"]
    with web.db.write() as conn:
        publish(conn, row.id, "Sillan kaide on rikki.", "Korjattu.", web.clock(), "m")
    listed = requests_json(get(web, "/requests.json", extensions="true"))[0]["extended_attributes"]
    one = requests_json(get(web, f"/requests/{code}.json", extensions="true"))[0]["extended_attributes"]
    assert listed == one == unpublished  # a page's timelines read at once are find_public_case's
    with web.db.read() as conn:
        public = find_public_case(conn, code)
    assert public is not None and [s["at"] for s in one["timeline"]] == [
        open311.when(m.at, web.live.current.timezone) for m in public.timeline
    ]
    assert "extended_attributes" not in requests_json(get(web, "/requests.json"))[0]
    tree = ET.fromstring(get(web, "/requests.xml", extensions="true").content)
    assert tree.findtext("request/extended_attributes/detailed_status") == "answered"
    steps = tree.findall("request/extended_attributes/timeline/milestone")
    assert [s.findtext("kind") for s in steps] == ["received", "routed", "interim", "answered"]

    with web.db.write() as conn:  # a code whose receipt intake has not made a case of: received, open
        conn.execute(
            receipts.insert().values(
                channel="open311", received_at=START, rcpt_tos=[], peer="", sha256="-", state="parked",
                tracking_code="HEL-TEST-7777",
            )
        )  # fmt: skip
    [received] = requests_json(get(web, "/requests/HEL-TEST-7777.json", extensions="true"))
    assert received["status"] == "open" and received["extended_attributes"]["detailed_status"] == "received"


def test_unknown_codes_and_tokens_are_404_in_json_and_in_xml(web: RunningDaemon) -> None:
    code = ticket_id(palautebot(web))
    for path in ("/requests/HEL-0000-0000", "/requests/not-a-code", "/tokens/HEL-0000-0000", "/tokens/x"):
        json_text = error(get(web, f"{path}.json"), 404)
        assert json_text == error(get(web, f"{path}.xml"), 404, xml=True)
    assert get(web, f"/tokens/{code}.json").json() == [{"service_request_id": code, "token": code}]
    tree = ET.fromstring(get(web, f"/tokens/{code.lower()}.xml").content)
    assert tree.findtext("request/service_request_id") == code and tree.findtext("request/token") == code
    check_requests_json(get(web, f"/tokens/{code}.json").json())
    assert get(web, f"/requests/{code}.json").headers["cache-control"] == "no-store"


def test_addresses_without_a_format_or_with_another_are_404_and_other_methods_405(web: RunningDaemon) -> None:
    for path in (
        "/discovery",
        "/services",
        "/services/172",
        "/requests",
        "/requests/HEL-0000-0000",
        "/tokens/x",
    ):
        assert ".json or .xml" in error(get(web, path), 404)
    assert ".json or .xml" in error(get(web, "/services.html"), 404)
    assert ".json or .xml" in error(httpx.post(root(web) + "/requests", data={"api_key": KEY}), 404)
    error(httpx.post(root(web) + "/services.xml"), 405, xml=True)
    error(httpx.delete(root(web) + "/requests/HEL-0000-0000.json"), 405)
    error(get(web, "/nothing.xml"), 404, xml=True)
    assert count(web.db, receipts) == 0


BOTH_DATABASES = True  # its queries differ by database (tests/web/conftest.py)
