"""The signed webhook `POST /api/v1/feedback` and its OpenAPI 3.1 document `GET /api/openapi.json`
(issue 17): how the city's own systems (its web site, mobile apps, a department's system) send feedback in.

A client is made with `gateway client add NAME`, which prints its secret once. Every request names the
client (`X-Gateway-Client`) and signs the raw body with that secret (`X-Gateway-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`). The checks run in this order, and the first
that fails answers: the rate limit of the client's address (429), the client and the signature (401
`unknown-client`, `bad-signature`), the signature's time (401 `stale-timestamp`), the Idempotency-Key
(422 `invalid-header`), the JSON (422 `invalid-json`), the fields (422 `invalid-body`, naming the
field). A body over the bound is 413 (`security.BodyLimit`). Only then is the submission stored
as a receipt through intake's port, and only once that commit returned is it answered 202 with the
tracking code. An `Idempotency-Key` sent again with the same body gets the first answer and no second
case; with another body, 409.

Photos come as base64 only. A photo given by URL is refused (422): fetching an address a client names
would let any client make the gateway reach into the city's network (SSRF), and a link passed on
unchecked would reach staff without the checks every photo gets (its bytes sniffed, its metadata
removed).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.errors import StorageError
from gateway.model import Channel
from gateway.store.clients import check_name, webhook_secret
from gateway.submission import checks
from gateway.submission.document import Photo, Submission
from gateway.submission.photos import MAX_PHOTO_BYTES, MAX_PHOTOS, PHOTO_TYPES, PhotoRejected, sniff
from gateway.web.context import WebContext
from gateway.web.errors import JSON_TYPE, api_error
from gateway.web.limits import retry_after
from gateway.web.submit import submit

log = structlog.get_logger(__name__)

FEEDBACK_PATH = "/api/v1/feedback"
OPENAPI_PATH = "/api/openapi.json"
CLIENT_HEADER = "X-Gateway-Client"
SIGNATURE_HEADER = "X-Gateway-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_SKEW_SECONDS = 5 * 60  # a signature's time may be this far from our clock, either way
MAX_SIGNATURES = 8  # v1= values in one header: a client rotating its key signs with both for a while
MAX_SIGNATURE_HEADER = 1024
RETRY_STORAGE = "30"  # Retry-After when nothing could be stored
MAX_FILENAME = 255
MAX_BASE64 = -(-MAX_PHOTO_BYTES // 3) * 4  # the base64 text of the largest photo we take, unwrapped
WWW_AUTHENTICATE = 'GatewaySignature realm="gateway", headers="X-Gateway-Client X-Gateway-Signature"'

_T = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")  # visible ASCII: it is stored and compared as it is
_ONE_LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


# -- the request body ---------------------------------------------------------------------------------
# pydantic checks the shape and the types (strictly: "1" is not a number, "true" is not a boolean) and
# refuses unknown fields; `gateway.submission.checks` then checks the content, as for the form and Open311.

_STRICT = ConfigDict(extra="forbid", strict=True)


class Location(BaseModel):
    """Where the matter is, in WGS 84 degrees; it must be inside the city."""

    model_config = _STRICT
    lat: float
    lon: float


class Contact(BaseModel):
    """Who to answer; everything optional (anonymous feedback is taken, but gets no answer by mail). With
    an email address the resident gets the receipt mail with the tracking link, as for mail."""

    model_config = _STRICT
    name: Annotated[str, Field(max_length=checks.MAX_NAME)] | None = None
    email: Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"})] | None = None
    phone: Annotated[str, Field(max_length=checks.MAX_PHONE)] | None = None


class PhotoUpload(BaseModel):
    """A photo as base64 (RFC 4648, the standard alphabet; line breaks are ignored). JPEG, PNG, WebP or
    HEIC, judged by its bytes, at most 10 MB. A photo by URL (`url`) is refused: the gateway fetches
    nothing a client names."""

    model_config = _STRICT
    filename: Annotated[str, Field(max_length=MAX_FILENAME)] = "photo"
    content_base64: Annotated[
        str,
        Field(
            json_schema_extra={
                "contentEncoding": "base64",
                "contentMediaType": "image/*",
                "maxLength": MAX_BASE64 + MAX_BASE64 // 76 * 2,  # CRLF every 76 characters, as MIME does
            }
        ),
    ]


class Feedback(BaseModel):
    """One resident's feedback, as the city's systems send it in."""

    model_config = _STRICT
    text: Annotated[
        str,
        Field(
            description="The feedback: 10 to 5,000 characters once control characters and the spaces "
            "around it are removed.",
            json_schema_extra={"minLength": checks.MIN_TEXT, "maxLength": checks.MAX_TEXT},
        ),
    ]
    category: str | None = Field(None, description="A topic's key (the form's topics, Open311 services).")
    location: Location | None = None
    address: Annotated[str, Field(max_length=checks.MAX_ADDRESS)] | None = Field(
        None, description="The place in words."
    )
    contact: Contact | None = None
    language: Literal["fi", "sv", "en"] = Field("fi", description="The language to answer in.")
    consent_to_publish: bool = Field(
        False, description="Whether the feedback and its answer may be published, without personal data."
    )
    photos: Annotated[list[PhotoUpload], Field(max_length=MAX_PHOTOS)] = Field(
        default_factory=list, description=f"Up to {MAX_PHOTOS} photos."
    )


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # where: text, category, location.lat, contact.email, photos[1].content_base64 ...
    reason: str  # a machine word: required, too-short, unknown, outside-city, not-an-image ...
    detail: str  # an English sentence


# -- the routes ---------------------------------------------------------------------------------------


def routes(ctx: WebContext) -> list[BaseRoute]:
    async def feedback(request: Request) -> Response:
        return await _feedback(ctx, request)

    async def openapi(request: Request) -> Response:
        body = json.dumps(openapi_document(ctx), ensure_ascii=False, indent=1)
        return Response(body, 200, media_type=JSON_TYPE)

    return [
        Route(FEEDBACK_PATH, feedback, methods=["POST"]),
        Route(OPENAPI_PATH, openapi, methods=["GET"]),
    ]


async def _feedback(ctx: WebContext, request: Request) -> Response:
    peer = request.client.host if request.client else ""
    if wait := ctx.posts.check(peer):
        seconds = retry_after(wait)
        return api_error(
            429,
            "rate-limited",
            f"too many requests from this address: try again in {seconds} s",
            {"retry-after": seconds},
        )
    name = request.headers.get(CLIENT_HEADER, "")
    try:
        body = await _signed_body(ctx, request, name)
    except StorageError as exc:
        log.error("webhook: clients not readable; client asked to retry", error=str(exc))
        return _unavailable()
    if isinstance(body, Refusal):
        log.info("webhook refused", error=body.error, client=name[:64], peer=peer)
        return api_error(401, body.error, body.detail, {"www-authenticate": WWW_AUTHENTICATE})
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        detail = f"{IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters"
        return _invalid("invalid-header", [Problem(IDEMPOTENCY_HEADER, "invalid", detail)])
    try:
        doc = _json(body)
    except ValueError as exc:
        return api_error(422, "invalid-json", f"the body is not a JSON object: {exc}")
    problems, sub = _checked(ctx, doc, name)
    if sub is None:
        log.info("webhook refused: invalid body", client=name, field=problems[0].field, peer=peer)
        return _invalid("invalid-body", problems)
    try:
        stored = await submit(ctx, sub, peer=peer, idempotency_key=key)
    except StorageError as exc:
        log.error("webhook submission not stored; client asked to retry", client=name, error=str(exc))
        return _unavailable()
    code = stored.tracking_code or ""
    if stored.replayed and not stored.same_body:
        return api_error(
            409,
            "idempotency-key-reused",
            f"this {IDEMPOTENCY_HEADER} was used before for another body (it gave {code}); "
            "use a new key for new feedback",
        )
    answer = {"tracking_code": code, "status_url": ctx.track_url(code)}
    return Response(json.dumps(answer, ensure_ascii=False), 202, media_type=JSON_TYPE)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is not taken as its client's: a 401's machine word and sentence."""

    error: str  # unknown-client, bad-signature, stale-timestamp
    detail: str


async def _signed_body(ctx: WebContext, request: Request, name: str) -> bytes | Refusal:
    """The raw body, when *name* is an enabled webhook client and the signature header signs the body
    with its secret at a time within MAX_SKEW_SECONDS of ours; else why not. The body is read only for
    a known client and a well-formed header, so that a stranger cannot make us hold one."""
    if not name:
        return Refusal("unknown-client", f"the {CLIENT_HEADER} header is missing")
    secret = (
        await ctx.client_key("webhook", name, partial(_secret, ctx)) if check_name(name) is None else None
    )
    if secret is None:
        return Refusal("unknown-client", f"{CLIENT_HEADER} names no enabled client of this gateway")
    header = request.headers.get(SIGNATURE_HEADER)
    if header is None:
        return Refusal("bad-signature", f"the {SIGNATURE_HEADER} header is missing")
    parsed = parse_signature(header)
    if parsed is None:
        return Refusal("bad-signature", f'{SIGNATURE_HEADER} is not "t=<unix seconds>,v1=<64 hex digits>"')
    t, given = parsed
    body = await request.body()  # the bytes as sent, never JSON serialised again; over the bound: 413
    expected = sign(secret, t, body)
    if not any([hmac.compare_digest(expected, v.lower().encode("ascii")) for v in given]):  # each compared
        detail = f'no v1 signature matches HMAC-SHA256 of "<t>.<raw body>" with {name}\'s secret'
        return Refusal("bad-signature", detail)
    if abs(ctx.clock().timestamp() - int(t)) > MAX_SKEW_SECONDS:
        return Refusal("stale-timestamp", f"the signature's time t={t} is more than 5 minutes from ours")
    return body


def _secret(ctx: WebContext, name: str) -> str | None:
    with ctx.db.read() as conn:
        return webhook_secret(conn, name)


def parse_signature(header: str) -> tuple[str, list[str]] | None:
    """(t as sent, the v1 values) of a signature header; None when it is not one. Other schemes
    (`v0=`, a future `v2=`) are ignored, so that a client may send a newer one beside v1."""
    if len(header) > MAX_SIGNATURE_HEADER:
        return None
    t: str | None = None
    given: list[str] = []
    for part in header.split(","):
        label, eq, value = part.strip().partition("=")
        if not eq:
            return None
        if label == "t":
            if t is not None or not _T.fullmatch(value):
                return None
            t = value
        elif label == "v1":
            if not _HEX.fullmatch(value):
                return None
            given.append(value)
    if t is None or not given or len(given) > MAX_SIGNATURES:
        return None
    return t, given


def sign(secret: str, t: str, body: bytes) -> bytes:
    """The v1 signature (lower-case hex, as ASCII bytes) of *body* at time *t* with *secret*."""
    mac = hmac.new(secret.encode("utf-8"), t.encode("ascii") + b"." + body, hashlib.sha256)
    return mac.hexdigest().encode("ascii")


def _json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; ValueError saying why it is not one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8") from None
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    if not isinstance(doc, dict):
        raise ValueError(f"it is a JSON {type(doc).__name__}, not an object")
    if not _unicode(doc):
        raise ValueError("it holds an escaped lone surrogate (\\ud800-\\udfff), which is not a character")
    return doc


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _unicode(value: object) -> bool:
    """Whether every string in *value* is Unicode text (the database and the receipt's UTF-8 need it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


# -- checking the fields ------------------------------------------------------------------------------


def _checked(ctx: WebContext, doc: dict[str, Any], client: str) -> tuple[list[Problem], Submission | None]:
    """The problems of *doc*, each naming its field, or the submission it makes."""
    if found := _url_photos(doc):
        return found, None
    try:
        given = Feedback.model_validate(doc)
    except ValidationError as exc:
        return [_problem(e) for e in exc.errors(include_url=False, include_input=False)], None
    problems: list[Problem] = []
    text = checks.clean_text(given.text)
    problems += _ours("text", checks.check_text(text))
    problems += _ours("category", checks.check_category(given.category, ctx.config().categories))
    location = (given.location.lat, given.location.lon) if given.location else None
    if location is not None:
        problems += _ours("location", checks.check_location(*location, ctx.settings.bounds))
    address = (given.address or "").strip()
    contact = given.contact or Contact()
    name, email, phone = ((v or "").strip() for v in (contact.name, contact.email, contact.phone))
    for field, value in (
        ("address", address),
        ("contact.name", name),
        ("contact.email", email),
        ("contact.phone", phone),
    ):
        if _ONE_LINE_CONTROLS.search(value):
            problems.append(Problem(field, "invalid", "control characters (line breaks too) are not taken"))
    problems += _ours("address", checks.check_address(address))
    for found_contact in checks.check_contact(name, email, phone):
        problems += _ours(f"contact.{found_contact.field}", found_contact)
    photos: list[Photo] = []
    for i, upload in enumerate(given.photos):
        photo, problem = _photo(i, upload)
        if problem is not None:
            problems.append(problem)
        elif photo is not None:
            photos.append(photo)
    if problems:
        return _first_per_field(problems), None
    return [], Submission(
        code="",
        text=text,
        language=given.language,
        channel=str(Channel.WEB),
        category=given.category or None,
        address=address,
        location=location,
        name=name,
        email=email.lower(),
        phone=phone,
        publish_consent=given.consent_to_publish,
        photos=tuple(photos),
        client=client,
    )


def _url_photos(doc: dict[str, Any]) -> list[Problem]:
    """A clear refusal for photos given by address (see the module's docstring)."""
    photos = doc.get("photos")
    if not isinstance(photos, list):
        return []
    return [
        Problem(
            f"photos[{i}].url",
            "url-not-taken",
            "photos are taken as content_base64 only: the gateway does not fetch addresses",
        )
        for i, photo in enumerate(photos)
        if isinstance(photo, dict) and "url" in photo
    ]


def _photo(i: int, upload: PhotoUpload) -> tuple[Photo | None, Problem | None]:
    where = f"photos[{i}]"
    encoded = "".join(upload.content_base64.split())  # MIME-style line breaks
    if len(encoded) > MAX_BASE64:
        limit = f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB"
        return None, Problem(where, "too-large", f"the photo is larger than {limit}")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None, Problem(
            f"{where}.content_base64", "not-base64", "not base64 (RFC 4648, standard alphabet)"
        )
    try:
        content_type = sniff(data)
    except PhotoRejected as exc:
        return None, Problem(where, exc.reason, f"{exc} (JPEG, PNG, WebP or HEIC, at most 10 MB)")
    return Photo(upload.filename.strip() or "photo", content_type, data), None


def _ours(field: str, found: checks.Problem | None) -> list[Problem]:
    return [] if found is None else [Problem(field, found.reason, found.detail)]


_PYDANTIC_REASONS = {
    "missing": "required",
    "extra_forbidden": "unknown-field",
    "too_long": "too-many",
    "string_too_long": "too-long",
    "literal_error": "not-allowed",
}
_PYDANTIC_DETAILS = {"extra_forbidden": "unknown field", "model_type": "must be a JSON object"}


def _problem(error: Any) -> Problem:
    """A pydantic error as a problem naming its field the way the body writes it."""
    field = ""
    for part in error["loc"]:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    kind = str(error["type"])
    reason = _PYDANTIC_REASONS.get(kind) or (
        "wrong-type" if kind.endswith("_type") else kind.replace("_", "-")
    )
    detail = _PYDANTIC_DETAILS.get(kind) or str(error["msg"])
    return Problem(field or "body", reason, detail)


def _first_per_field(problems: list[Problem]) -> list[Problem]:
    seen: dict[str, Problem] = {}
    for p in problems:
        seen.setdefault(p.field, p)
    return list(seen.values())


def _invalid(error: str, problems: list[Problem]) -> Response:
    """422 naming the first problem's field, with every problem found."""
    first = problems[0]
    body = {
        "error": error,
        "detail": f"{first.field}: {first.detail}",
        "field": first.field,
        "reason": first.reason,
        "problems": [{"field": p.field, "reason": p.reason, "detail": p.detail} for p in problems],
    }
    return Response(json.dumps(body, ensure_ascii=False), 422, media_type=JSON_TYPE)


def _unavailable() -> Response:
    return api_error(
        503,
        "unavailable",
        "the feedback could not be stored just now: nothing was kept, send it again later",
        {"retry-after": RETRY_STORAGE},
    )


# -- the OpenAPI document -----------------------------------------------------------------------------

_REF = "#/components/schemas/{model}"
_FEEDBACK_SCHEMA = Feedback.model_json_schema(ref_template=_REF)


def openapi_document(ctx: WebContext) -> dict[str, Any]:
    """The API as it is now: the categories of the configuration in force, the city's box and the
    address residents and clients reach us at."""
    schemas = _schemas(ctx)
    error = {"$ref": "#/components/schemas/Error"}
    retry = {
        "Retry-After": {
            "description": "seconds to wait",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    }
    challenge = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}

    def answer(
        description: str, schema: dict[str, Any], headers: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
        if headers:
            out["headers"] = headers
        return out

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "City feedback gateway: webhook",
            "version": "1",
            "description": (
                "Feedback sent in by the city's own systems becomes a case with a tracking code, exactly as "
                "mail does. Get a client name and secret from the operators (`gateway client add NAME`)."
            ),
        },
        "servers": [{"url": ctx.settings.web_url}],
        "paths": {
            FEEDBACK_PATH: {
                "post": {
                    "operationId": "sendFeedback",
                    "summary": "Send one resident's feedback",
                    "description": (
                        "Checked in this order, the first failure answering: the rate limit of the client's "
                        "address (429), the client and the signature (401 unknown-client, bad-signature), "
                        "the signature's time (401 stale-timestamp), the Idempotency-Key (422 "
                        "invalid-header), the JSON (422 invalid-json), the fields (422 invalid-body, naming "
                        "the field). A body over the gateway's bound is 413, at once when its "
                        "Content-Length says so. 202 comes only once the feedback is stored; its tracking "
                        "code is the case's. Photos by URL are refused: send them as base64."
                    ),
                    "security": [{"gatewayClient": [], "gatewaySignature": []}],
                    "parameters": [
                        {
                            "name": IDEMPOTENCY_HEADER,
                            "in": "header",
                            "required": False,
                            "description": (
                                "Sent again with the same body, the first answer is given again and no "
                                "second case is made; with another body, 409. Kept per client."
                            ),
                            "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Feedback"}}
                        },
                    },
                    "responses": {
                        "202": answer(
                            "Stored; the case follows with this tracking code.",
                            {"$ref": "#/components/schemas/Accepted"},
                        ),
                        "401": answer("unknown-client, bad-signature or stale-timestamp.", error, challenge),
                        "409": answer(
                            "idempotency-key-reused: the key was sent before with another body.", error
                        ),
                        "413": answer("too-large: the body is over the gateway's bound.", error),
                        "422": answer(
                            "invalid-json, invalid-header or invalid-body (naming the field).", error
                        ),
                        "429": answer("rate-limited: too many requests from this address.", error, retry),
                        "503": answer("unavailable: nothing was stored; send it again later.", error, retry),
                    },
                }
            },
            OPENAPI_PATH: {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": answer("The OpenAPI document.", {"type": "object"})},
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "gatewayClient": {
                    "type": "apiKey",
                    "in": "header",
                    "name": CLIENT_HEADER,
                    "description": "The client's name, as it was added with `gateway client add NAME`.",
                },
                "gatewaySignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": SIGNATURE_HEADER,
                    "description": (
                        't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">, keyed with the client\'s '
                        "secret's text as UTF-8 bytes. t must be within 5 minutes of the gateway's clock. "
                        "Several v1= values may be sent (while a key is being rotated); one must match."
                    ),
                },
            },
        },
    }


def _schemas(ctx: WebContext) -> dict[str, Any]:
    feedback = copy.deepcopy(_FEEDBACK_SCHEMA)
    schemas: dict[str, Any] = feedback.pop("$defs")
    categories = list(ctx.config().categories)
    for branch in feedback["properties"]["category"]["anyOf"]:
        if branch.get("type") == "string":
            branch["enum"] = categories
    south, west, north, east = ctx.settings.bounds
    coordinates = schemas["Location"]["properties"]
    coordinates["lat"] |= {"minimum": south, "maximum": north}
    coordinates["lon"] |= {"minimum": west, "maximum": east}
    schemas["PhotoUpload"]["properties"]["content_base64"]["description"] = (
        f"The photo's bytes in base64: {', '.join(PHOTO_TYPES)}, at most {MAX_PHOTO_BYTES} bytes."
    )
    problem = {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "reason", "detail"],
        "properties": {
            "field": {"type": "string"},
            "reason": {"type": "string"},
            "detail": {"type": "string"},
        },
    }
    return schemas | {
        "Feedback": feedback,
        "Accepted": {
            "type": "object",
            "additionalProperties": False,
            "required": ["tracking_code", "status_url"],
            "properties": {
                "tracking_code": {
                    "type": "string",
                    "pattern": f"^{re.escape(ctx.prefix)}-[0-9A-Z]{{4}}-[0-9A-Z]{{4}}$",
                },
                "status_url": {"type": "string", "format": "uri", "description": "The case's tracking page."},
            },
        },
        "Error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["error", "detail"],
            "properties": {
                "error": {"type": "string", "description": "A machine word, e.g. bad-signature."},
                "detail": {"type": "string", "description": "An English sentence for a person."},
                "field": {"type": "string", "description": "422: the first field found wrong."},
                "reason": {"type": "string", "description": "422: what is wrong with it (a word)."},
                "problems": {"type": "array", "items": problem, "description": "422: every problem found."},
            },
        },
    }
