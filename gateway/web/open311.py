"""Open311 GeoReport v2 under `/open311/v2/` (issue 17): how the city's apps and sites that already speak
GeoReport v2 (Helsinki's palautebot, FixMyStreet, the `georeport` client) read the services and the
public requests, and send feedback in.

Resources, each as `.json` (`application/json; charset=utf-8`) and `.xml` (`text/xml; charset=utf-8`):

- `discovery`, `services` (the `categories:` of departments.yaml), `services/{service_code}` (the service
  definition: no attributes, since we ask none);
- `POST requests`: form-encoded (or multipart without files) as city apps send it, with the `api_key` of
  a client added with `gateway client add NAME --open311` (a form field, or in the query as some
  clients send it). Checked in this order, the first failure
  answering: the rate limit of the client's address (429), the form (400), the api_key (403), the fields
  (400: description 10-5,000 characters, a known service_code or none, coordinates inside the city, a
  contact that is one). Only once the submission is stored as a receipt is it answered `201 Created`
  with `[{"service_request_id", "service_notice", "account_id": null}]` and a Location header; the
  service_request_id is the tracking code, and `requests/{id}` reads it at once;
- `GET requests`: only public cases (published and not withdrawn), newest first, with the
  specification's filters (`service_request_id` overriding the rest, `service_code`, `start_date`,
  `end_date`, `status`) and Helsinki's (`updated_after`, `updated_before`, `page`, `page_size`,
  `extensions`, `locale`);
- `requests/{id}`: any case by its code, as a list of one; until it is published only its status and
  dates show (its description, place and service are withheld). With `extensions=true` a request
  carries `extended_attributes`: `detailed_status` (received, in process, answered, closed) and the public
  `timeline`, a list of `{kind, at}` (in XML `<timeline><milestone><kind>…`);
- `tokens/{token}`: we answer a POST with its service_request_id at once, so a token is the code itself.

Decisions (docs/decisions/0027-web-front-door.md has the rest):

- POST answers 201 Created: the specification names no success status, palautebot and FixMyStreet
  accept any 2xx, and the request exists (readable by its id) when the answer leaves. The service_code
  may be left out (no category: the rules route by the text), and so may the place (palautebot sends
  none for a tweet), though the specification asks for both.
- `media_url` is neither fetched nor passed on: fetching an address a client names would let it make the
  gateway reach into the city's network (SSRF), and a link passed on unchecked would reach staff without
  the checks every photo gets. The feedback is still taken (refusing it would lose what a palautebot
  tweet says), and the answer's service_notice says the link was not taken.
- A resource is named with its format: an address without `.json` or `.xml` answers 404 (in JSON) saying
  so, rather than guessing a format.
- Dates are ISO 8601 with the offset of the city's time zone (`2026-12-04T10:00:00+02:00`). Dates given
  in a query may carry any offset or `Z`; without one they are the city's local time.
- A listing is bounded to 90 days: of creation (`start_date`/`end_date`, by default the last 90 days)
  or, when only `updated_after`/`updated_before` are given, of the last update.
- `title` (Helsinki's) becomes the first line of the case's text, as a mail's subject would;
  `first_name` and `last_name` make the name; `device_id`, `account_id`, `address_id`, `attribute[]` and
  `jurisdiction_id` are ignored (one jurisdiction, no attributes).
- Look-ups by code (`requests/{id}`, `tokens/{token}`) are rate-limited per client address like the
  tracking page, so that codes cannot be enumerated; listing public requests is not.

Nothing personal ever leaves: no name, email, phone or the resident's own text; the description and the
status notes are the published question and answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import structlog
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.errors import StorageError
from gateway.model import CaseStatus, Channel
from gateway.model.tracking_code import normalise
from gateway.rules import Config
from gateway.store.open311 import (
    CLOSED_STATUSES,
    MAX_PAGE_SIZE,
    OPEN_STATUSES,
    PublicRequest,
    RequestQuery,
    open311_client,
    public_request,
    public_requests,
    timelines,
)
from gateway.store.public import Milestone, PublicCase, find_public_case
from gateway.submission import checks
from gateway.submission.document import Submission
from gateway.web.context import WebContext
from gateway.web.errors import JSON_TYPE, XML_TYPE, open311_error
from gateway.web.limits import retry_after
from gateway.web.submit import submit

log = structlog.get_logger(__name__)

BASE = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # when what clients see of this endpoint last changed
FORMATS = ("json", "xml")
WINDOW = timedelta(days=90)  # the longest span a listing covers (the specification's)
MAX_PAGE = 100_000
MAX_TITLE = 200
RETRY_STORAGE = "30"  # Retry-After when nothing could be read or stored
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_ONE_LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
# What XML 1.0 cannot carry at all (and lone surrogates, which UTF-8 cannot): left out of XML answers.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ZONE_WITHOUT_PLUS = re.compile(r"^(.*T[0-9:.]+) ([0-9]{2}:?[0-9]{2})$")  # a '+' that became a space
_XML_ITEMS = {  # a list's element → the element of each of its items
    "services": "service",
    "service_requests": "request",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "timeline": "milestone",
}
_DETAILED_STATUS = {
    None: "received",  # the receipt is stored, intake has not made the case yet
    CaseStatus.NEW: "received",
    CaseStatus.ROUTED: "in process",
    CaseStatus.WAITING: "in process",
    CaseStatus.ANSWERED: "answered",
    CaseStatus.CLOSED: "closed",
}
_RECEIVED = {
    "fi": "Palaute on vastaanotettu. Seuraa sen käsittelyä: {url}",
    "sv": "Responsen har tagits emot. Följ handläggningen: {url}",
    "en": "The feedback was received. Follow its handling at {url}",
}
_FOLLOW = {
    "fi": "Seuraa käsittelyä: {url}",
    "sv": "Följ handläggningen: {url}",
    "en": "Follow its handling at {url}",
}
_MEDIA_NOT_TAKEN = {
    "fi": "Kuvalinkkiä (media_url) ei otettu vastaan: palvelu ei hae osoitteita. Kuvat voi lähettää "
    "palautelomakkeella.",
    "sv": "Bildlänken (media_url) togs inte emot: tjänsten hämtar inga adresser. Bilder kan skickas med "
    "responsformuläret.",
    "en": "The photo link (media_url) was not taken: the gateway fetches no addresses. Photos can be sent "
    "with the feedback form.",
}

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, bool], Awaitable[Response]]


class BadRequest(Exception):
    """A 400 whose description is the exception's text."""


def routes(ctx: WebContext) -> list[BaseRoute]:
    api = _Open311(ctx)
    formatted: list[tuple[str, Handler, str]] = [
        ("/discovery.{fmt}", api.discovery, "GET"),
        ("/services.{fmt}", api.services, "GET"),
        ("/services/{code}.{fmt}", api.service, "GET"),
        ("/requests.{fmt}", api.requests, "GET"),
        ("/requests.{fmt}", api.post, "POST"),
        ("/requests/{id}.{fmt}", api.request, "GET"),
        ("/tokens/{token}.{fmt}", api.token, "GET"),
    ]
    without_format: list[tuple[str, list[str]]] = [
        ("/discovery", ["GET"]),
        ("/services", ["GET"]),
        ("/services/{code}", ["GET"]),
        ("/requests", ["GET", "POST"]),
        ("/requests/{id}", ["GET"]),
        ("/tokens/{token}", ["GET"]),
    ]
    # The listing is public and the same for every client asking the same query (its language is in
    # the query: `locale`): remembered a few seconds (web/public_cache.py).
    listing = ctx.public.remembered(_by_format(api.requests), lambda request: "")
    return [
        *(
            Route(BASE + path, listing if handler == api.requests else _by_format(handler), methods=[method])
            for path, handler, method in formatted
        ),
        *(Route(BASE + path, _no_format, methods=methods) for path, methods in without_format),
    ]


def _by_format(handler: Handler) -> Endpoint:
    """The endpoint of *handler* for `.json` and `.xml`; 404 for another extension, 503 when the
    database cannot be read."""

    async def endpoint(request: Request) -> Response:
        fmt = str(request.path_params["fmt"])
        if fmt not in FORMATS:
            return open311_error(404, f"no format {fmt[:16]!r} here: use .json or .xml", False)
        xml = fmt == "xml"
        try:
            return await handler(request, xml)
        except BadRequest as exc:
            return open311_error(400, str(exc), xml)
        except StorageError as exc:
            log.error("open311: database not available; client asked to retry", error=str(exc))
            return open311_error(
                503,
                "the service cannot read or store just now (nothing was stored): try again later",
                xml,
                {"retry-after": RETRY_STORAGE},
            )

    return endpoint


async def _no_format(request: Request) -> Response:
    return open311_error(404, "GeoReport v2 resources are named with their format: add .json or .xml", False)


class _Open311:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    # -- services --------------------------------------------------------------------------------------

    async def discovery(self, request: Request, xml: bool) -> Response:
        config = self.ctx.config()
        tz = config.timezone
        contact = config.addresses[0] if config.addresses else ""
        doc = {
            "changeset": when(CHANGESET, tz),
            "contact": f"Questions about this API: {contact}" if contact else "",
            "key_service": "An api_key for sending requests is given by the city's operators of the feedback "
            "gateway.",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": f"{self.ctx.settings.web_url}{BASE}",
                    "changeset": when(CHANGESET, tz),
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return _answer(doc, xml, "discovery")

    async def services(self, request: Request, xml: bool) -> Response:
        config = self.ctx.config()
        lang = _language(request) or "fi"
        doc = [
            {
                "service_code": category.service_code,
                "service_name": category.display_name(lang),
                "description": category.description.get(lang)
                or next(iter(category.description.values()), ""),
                "metadata": False,  # no attributes are asked of any service
                "type": "realtime",  # a POST is answered with its service_request_id
                "keywords": ", ".join(category.keywords),
                "group": category.group,
            }
            for category in config.categories.values()
        ]
        return _answer(doc, xml, "services")

    async def service(self, request: Request, xml: bool) -> Response:
        code = str(request.path_params["code"])
        category = self.ctx.config().category_by_code(code)
        if category is None:
            return open311_error(404, f"no service has the service_code {code[:64]!r}", xml)
        return _answer({"service_code": category.service_code, "attributes": []}, xml, "service_definition")

    # -- reading requests ------------------------------------------------------------------------------

    async def requests(self, request: Request, xml: bool) -> Response:
        config = self.ctx.config()
        query = parse_query(request.query_params, config, self.ctx.clock(), self.ctx.prefix)
        extensions = _extensions(request)

        def read() -> tuple[list[PublicRequest], dict[int, tuple[Milestone, ...]]]:
            with self.ctx.db.read() as conn:
                found = public_requests(conn, query)
                return found, timelines(conn, found) if extensions and found else {}

        found, steps = await self.ctx.run(read)
        lang = _language(request)
        doc = [self._published(config, r, lang, steps.get(r.id, ()) if extensions else None) for r in found]
        return _answer(doc, xml, "service_requests")

    async def request(self, request: Request, xml: bool) -> Response:
        if refused := self._looked_up_too_often(request, xml):
            return refused
        code = normalise(str(request.path_params["id"]), self.ctx.prefix)

        def read() -> tuple[PublicCase | None, PublicRequest | None]:
            if code is None:
                return None, None
            with self.ctx.db.read() as conn:
                case = find_public_case(conn, code)
                published = public_request(conn, code) if case is not None and case.publication else None
                return case, published

        case, published = await self.ctx.run(read)
        if case is None:
            return open311_error(404, "no service request has this service_request_id", xml)
        config = self.ctx.config()
        timeline = case.timeline if _extensions(request) else None
        if published is not None:
            doc = self._published(config, published, _language(request), timeline)
        else:
            doc = self._withheld(config, case, timeline)
        return _answer([doc], xml, "service_requests", headers={"cache-control": "no-store"})

    async def token(self, request: Request, xml: bool) -> Response:
        if refused := self._looked_up_too_often(request, xml):
            return refused
        code = normalise(str(request.path_params["token"]), self.ctx.prefix)

        def exists() -> bool:
            if code is None:
                return False
            with self.ctx.db.read() as conn:
                return find_public_case(conn, code) is not None

        if code is None or not await self.ctx.run(exists):
            return open311_error(404, "no service request has this token", xml)
        doc = [{"service_request_id": code, "token": code}]
        return _answer(doc, xml, "service_requests", headers={"cache-control": "no-store"})

    def _looked_up_too_often(self, request: Request, xml: bool) -> Response | None:
        peer = request.client.host if request.client else ""
        if wait := self.ctx.lookups.check(peer):
            seconds = retry_after(wait)
            return open311_error(
                429,
                f"too many look-ups from this address: try again in {seconds} s",
                xml,
                {"retry-after": seconds},
            )
        return None

    def _published(
        self,
        config: Config,
        r: PublicRequest,
        lang: str | None,
        timeline: Sequence[Milestone] | None,
    ) -> dict[str, Any]:
        """A public case with everything the specification lists that is public (no media: photos are
        published by moderators later)."""
        tz = config.timezone
        language = lang or (r.language if r.language in checks.LANGUAGES else "fi")
        category = config.categories.get(r.category) if r.category else None
        department = config.departments.get(r.department) if r.department else None
        doc: dict[str, Any] = {
            "service_request_id": r.code,
            "status": "open" if r.is_open else "closed",
            "status_notes": r.answer or None,
            "service_name": category.display_name(language) if category else None,
            "service_code": category.service_code if category else None,
            "description": r.question or None,
            "agency_responsible": department.display_name(language) if department else None,
            "service_notice": _FOLLOW[language].format(url=self.ctx.track_url(r.code)),
            "requested_datetime": when(r.created_at, tz),
            "updated_datetime": when(r.updated_at, tz),
            "expected_datetime": when(r.due_at, tz) if r.due_at is not None and r.is_open else None,
            "address": None,  # the place as typed is not moderated: never public (decision 0029)
            "lat": r.latitude,
            "long": r.longitude,
        }
        if timeline is not None:
            doc["extended_attributes"] = _extended(r.status, timeline, tz)
        return doc

    def _withheld(
        self, config: Config, case: PublicCase, timeline: Sequence[Milestone] | None
    ) -> dict[str, Any]:
        """A case not published (yet): its status and dates, nothing of what it says or where."""
        tz = config.timezone
        doc: dict[str, Any] = {
            "service_request_id": case.code,
            "status": "open" if case.is_open else "closed",
            "status_notes": None,
            "requested_datetime": when(case.received_at, tz),
            "updated_datetime": when(case.updated_at, tz),
            "expected_datetime": when(case.due_at, tz) if case.due_at is not None and case.is_open else None,
        }
        if timeline is not None:
            doc["extended_attributes"] = _extended(case.status, timeline, tz)
        return doc

    # -- sending a request -----------------------------------------------------------------------------

    async def post(self, request: Request, xml: bool) -> Response:
        ctx = self.ctx
        peer = request.client.host if request.client else ""
        if wait := ctx.posts.check(peer):
            seconds = retry_after(wait)
            return open311_error(
                429,
                f"too many requests from this address: try again in {seconds} s",
                xml,
                {"retry-after": seconds},
            )
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind not in FORM_TYPES:
            raise BadRequest("send the fields form-encoded (application/x-www-form-urlencoded)")
        try:
            form = await request.form(max_files=0, max_fields=100, max_part_size=64 * 1024)
        except HTTPException:
            raise BadRequest(
                "not a form this service takes: at most 100 fields of 64 KB, and no files"
            ) from None
        try:
            api_key = _field(form, "api_key") or request.query_params.get("api_key", "")
            client = await self.ctx.client_key("open311", api_key, self._client) if api_key else None
            if client is None:
                log.info("open311 POST refused: api_key", given=bool(api_key), peer=peer)
                return open311_error(403, "api_key is missing or is not one of this service's clients", xml)
            sub, media = checked_submission(form, ctx.config(), ctx.settings.bounds, client)
            stored = await submit(ctx, sub, peer=peer)
        except BadRequest as exc:
            log.info("open311 POST refused", reason=str(exc), peer=peer)
            raise
        finally:
            await form.close()
        code = stored.tracking_code or ""
        notice = _RECEIVED[sub.language].format(url=ctx.track_url(code))
        if media:
            notice += " " + _MEDIA_NOT_TAKEN[sub.language]
        doc = [{"service_request_id": code, "service_notice": notice, "account_id": None}]
        fmt = "xml" if xml else "json"
        location = f"{ctx.settings.web_url}{BASE}/requests/{code}.{fmt}"
        return _answer(doc, xml, "service_requests", status=201, headers={"location": location})

    def _client(self, api_key: str) -> str | None:
        with self.ctx.db.read() as conn:
            return open311_client(conn, api_key)


# -- the fields of a POST -----------------------------------------------------------------------------


def checked_submission(
    form: FormData, config: Config, bounds: tuple[float, float, float, float], client: str
) -> tuple[Submission, bool]:
    """The submission the form's fields make and whether it named a media_url (not taken); BadRequest
    saying what is wrong with the first field found wrong."""
    description = checks.clean_text(_field(form, "description"))
    if problem := checks.check_text(description):
        raise BadRequest(f"description: {problem.detail}")
    category: str | None = None
    service_code = _field(form, "service_code").strip()
    if service_code:
        found = config.category_by_code(service_code)
        if found is None:
            raise BadRequest(f"unknown service_code {service_code[:64]!r} (services.json lists them)")
        category = found.key
    try:
        lat = checks.parse_float(_field(form, "lat"))
        lon = checks.parse_float(_field(form, "long"))
    except ValueError:
        raise BadRequest("lat and long must be decimal degrees (WGS 84)") from None
    if problem := checks.check_location(lat, lon, bounds):
        raise BadRequest(f"lat/long: {problem.detail}")
    one_line = {name: _field(form, name).strip() for name in ("address_string", "title", "email", "phone")}
    one_line["name"] = " ".join(
        part for part in (_field(form, "first_name").strip(), _field(form, "last_name").strip()) if part
    )
    for name, value in one_line.items():
        if _ONE_LINE_CONTROLS.search(value):
            field = "first_name/last_name" if name == "name" else name
            raise BadRequest(f"{field}: control characters (line breaks too) are not taken")
    if problem := checks.check_address(one_line["address_string"]):
        raise BadRequest(f"address_string: {problem.detail}")
    title = one_line["title"]
    if len(title) > MAX_TITLE:
        raise BadRequest(f"title: it must be at most {MAX_TITLE} characters")
    name, email, phone = one_line["name"], one_line["email"], one_line["phone"]
    for problem in checks.check_contact(name, email, phone):
        field = {"name": "first_name/last_name"}.get(problem.field, problem.field)
        raise BadRequest(f"{field}: {problem.detail}")
    text = description if not title or description.startswith(title) else f"{title}\n\n{description}"
    submission = Submission(
        code="",
        text=text,
        language=_locale(_field(form, "locale") or _field(form, "lang")) or "fi",
        channel=str(Channel.OPEN311),
        category=category,
        address=one_line["address_string"],
        location=(lat, lon) if lat is not None and lon is not None else None,
        name=name,
        email=email.lower(),
        phone=phone,
        client=client,
    )
    return submission, bool(_field(form, "media_url").strip())


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# -- the query of a listing ---------------------------------------------------------------------------


def parse_query(params: Mapping[str, str], config: Config, now: datetime, prefix: str) -> RequestQuery:
    """The listing *params* ask for; BadRequest saying why they cannot be answered."""
    ids = params.get("service_request_id", "").strip()
    if ids:
        given = [part.strip() for part in ids.split(",") if part.strip()]
        if len(given) > MAX_PAGE_SIZE:
            raise BadRequest(f"service_request_id: at most {MAX_PAGE_SIZE} ids at once")
        codes = (normalise(code, prefix) for code in given)
        return RequestQuery(codes=tuple(dict.fromkeys(c for c in codes if c is not None)))
    tz = config.timezone
    categories: tuple[str, ...] | None = None
    if service_codes := _list(params, "service_code"):
        keys = []
        for code in service_codes:
            found = config.category_by_code(code)
            if found is None:
                raise BadRequest(f"unknown service_code {code[:64]!r} (services.json lists them)")
            keys.append(found.key)
        categories = tuple(keys)
    status: tuple[CaseStatus, ...] | None = None
    if wanted := {s.lower() for s in _list(params, "status")}:
        if wanted - {"open", "closed"}:
            raise BadRequest("status: open, closed, or both separated by a comma")
        if wanted == {"open"}:
            status = OPEN_STATUSES
        elif wanted == {"closed"}:
            status = CLOSED_STATUSES
    start, end = _instant(params, "start_date", tz), _instant(params, "end_date", tz)
    after, before = _instant(params, "updated_after", tz), _instant(params, "updated_before", tz)
    if start is not None or end is not None:
        start, end = _window(start, end, "start_date", "end_date")
    elif after is not None or before is not None:
        after, before = _window(after, before, "updated_after", "updated_before")
    else:
        start = now - WINDOW
    return RequestQuery(
        categories=categories,
        created_from=start,
        created_to=end,
        status=status,
        updated_after=after,
        updated_before=before,
        page=_number(params, "page", 1, MAX_PAGE),
        page_size=_number(params, "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    )


def _list(params: Mapping[str, str], name: str) -> list[str]:
    return [part.strip() for part in params.get(name, "").split(",") if part.strip()]


def _window(
    first: datetime | None, last: datetime | None, first_name: str, last_name: str
) -> tuple[datetime, datetime]:
    """A span of at most WINDOW: both ends as given, or the missing one WINDOW away from the other."""
    try:
        if first is None:
            assert last is not None
            return last - WINDOW, last
        if last is None:
            return first, first + WINDOW
    except OverflowError:
        raise BadRequest(f"{first_name}/{last_name}: out of range") from None
    if last < first:
        raise BadRequest(f"{last_name} is before {first_name}")
    if last - first > WINDOW:
        raise BadRequest(f"{first_name} and {last_name} may be at most {WINDOW.days} days apart")
    return first, last


def _instant(params: Mapping[str, str], name: str, tz: ZoneInfo) -> datetime | None:
    """A W3C date-time of the query (`2026-03-01T00:00:00Z`, `...+02:00`); a date alone is its midnight
    and a time without an offset the city's local time."""
    value = params.get(name, "").strip()
    if not value:
        return None
    value = _ZONE_WITHOUT_PLUS.sub(r"\1+\2", value)  # '+02:00' sent unescaped arrives as ' 02:00'
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=tz)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}: not a W3C date-time such as 2026-03-01T00:00:00+02:00") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _number(params: Mapping[str, str], name: str, default: int, most: int) -> int:
    value = params.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= most:
        raise BadRequest(f"{name}: a whole number from 1 to {most}")
    return int(value)


def _extensions(request: Request) -> bool:
    return request.query_params.get("extensions", "").strip().lower() == "true"


def _language(request: Request) -> str | None:
    """The language a GET asks for (`locale` as Helsinki's service takes it, or `lang`), if one of ours."""
    return _locale(request.query_params.get("locale") or request.query_params.get("lang") or "")


def _locale(value: str) -> str | None:
    """fi, sv or en from a locale such as `sv`, `sv_FI` or `en-GB`; None for anything else."""
    language = value.strip()[:2].lower()
    return language if language in checks.LANGUAGES else None


# -- answers --------------------------------------------------------------------------------------------


def when(at: datetime, tz: ZoneInfo) -> str:
    """ISO 8601 to the second with the city's offset: 2026-12-04T10:00:00+02:00."""
    return at.astimezone(tz).replace(microsecond=0).isoformat()


def _extended(status: CaseStatus | None, timeline: Sequence[Milestone], tz: ZoneInfo) -> dict[str, Any]:
    return {
        "detailed_status": _DETAILED_STATUS[status],
        "timeline": [{"kind": step.kind, "at": when(step.at, tz)} for step in timeline],
    }


def _answer(
    doc: Any, xml: bool, root: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """*doc* as JSON, or as XML under *root* (a list's items named by `_XML_ITEMS`)."""
    if not xml:
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        return Response(body, status, headers=dict(headers or {}), media_type=JSON_TYPE)
    element = ET.Element(root)
    _fill(element, doc)
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8")
    return Response(body, status, headers=dict(headers or {}), media_type=XML_TYPE)


def _fill(element: ET.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for name, item in value.items():
            _fill(ET.SubElement(element, name), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, _XML_ITEMS[element.tag]), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, int | float):
        element.text = repr(value)
    else:
        element.text = _NOT_XML.sub("", str(value))
