"""The feedback form (`GET /`, `POST /`) and its answer page (`GET /sent/{code}`): server-rendered, in
Finnish, Swedish and English, working without JavaScript (issue 17). A sent form is checked, committed as a
receipt through intake's port, and only then answered `303` to the page that shows the tracking code."""

from __future__ import annotations

import hmac

import structlog
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.errors import StorageError
from gateway.model import Channel
from gateway.submission import checks
from gateway.submission.document import Photo, Submission
from gateway.submission.photos import MAX_PHOTO_BYTES, MAX_PHOTOS, PhotoRejected, sniff
from gateway.web.context import WebContext
from gateway.web.limits import retry_after
from gateway.web.pages import LANGUAGES, Pages
from gateway.web.security import TokenProblem, check_token, issue_token, link_mac
from gateway.web.submit import submit

log = structlog.get_logger(__name__)

FORM_CLIENT = "form"  # the receipts' client for the web form: its tokens' nonces are idempotency keys
FIELDS = ("text", "category", "address", "lat", "lon", "name", "email", "phone", "consent")
ANCHORS = {"location": "lat", "form": "text"}  # where the error summary's link for a problem points


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    async def show(request: Request) -> Response:
        return _form(ctx, pages, request, {}, {})

    async def send(request: Request) -> Response:
        peer = request.client.host if request.client else ""
        if wait := ctx.posts.check(peer):
            return pages.error(request, 429, {"retry-after": retry_after(wait)})
        try:
            form = await request.form(max_files=MAX_PHOTOS * 2, max_fields=40, max_part_size=64 * 1024)
        except HTTPException:  # more parts or a larger field than any form of ours sends
            return pages.error(request, 400)
        try:
            return await _send(ctx, pages, request, form, peer)
        finally:
            await form.close()

    async def sent(request: Request) -> Response:
        code = request.path_params["code"]
        anonymous = request.query_params.get("anon") == "1"
        expected = link_mac(ctx.form_key, f"{code}:{int(anonymous)}")
        if not hmac.compare_digest(request.query_params.get("m", ""), expected):
            return pages.error(request, 404)
        return pages.render(request, "sent.html", code=code, anonymous=anonymous)

    return [
        Route("/", show, methods=["GET"]),
        Route("/", send, methods=["POST"]),
        Route("/sent/{code}", sent, methods=["GET"]),
    ]


def _form(
    ctx: WebContext,
    pages: Pages,
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    lang: str | None = None,
    had_photos: bool = False,
) -> Response:
    lang = lang or pages.language(request)
    config = ctx.config()
    categories = [(key, c.display_name(lang)) for key, c in config.categories.items()]
    return pages.render(
        request,
        "form.html",
        status,
        lang=lang,
        token=issue_token(ctx.form_key, ctx.clock()),
        values={name: values.get(name, "") for name in FIELDS},
        errors=errors,
        anchors=ANCHORS,
        categories=categories,
        had_photos=had_photos,
    )


async def _send(ctx: WebContext, pages: Pages, request: Request, form: FormData, peer: str) -> Response:
    lang = str(form.get("lang") or "")
    lang = lang if lang in LANGUAGES else pages.language(request)
    values = {name: _text(form, name) for name in FIELDS}
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]

    def again(errors: dict[str, str]) -> Response:
        """The form shown again with what was written in it (not the photos: a browser cannot be given
        files back) and each problem next to its field, with a fresh token."""
        return _form(ctx, pages, request, values, errors, 400, lang, bool(uploads))

    if _text(form, "website"):  # the honeypot: a field no person sees or fills
        log.info("form refused: honeypot filled", peer=peer)
        return again({"form": "err_form_honeypot"})
    s = ctx.settings
    try:
        nonce = check_token(
            _text(form, "token"), ctx.form_key, ctx.clock(), s.form_min_seconds, s.form_max_age_hours * 3600
        )
    except TokenProblem as problem:
        log.info("form refused: token", reason=problem.reason, peer=peer)
        return again({"form": f"err_form_{problem.reason.replace('-', '_')}"})
    errors, sub = await checked_submission(ctx, values, uploads, lang)
    if sub is None:
        return again(errors)
    try:
        stored = await submit(ctx, sub, peer=peer, idempotency_key=nonce)
    except StorageError as exc:
        log.error("form not stored; resident asked to retry", error=str(exc))
        return pages.error(request, 503, {"retry-after": "30"}, lang)
    if stored.replayed and not stored.same_body:
        return again({"form": "err_form_resent"})
    code = stored.tracking_code or ""
    anonymous = not sub.email
    mac = link_mac(ctx.form_key, f"{code}:{int(anonymous)}")
    target = f"/sent/{code}?lang={lang}&anon={int(anonymous)}&m={mac}"
    return RedirectResponse(target, status_code=303)


async def checked_submission(
    ctx: WebContext, values: dict[str, str], uploads: list[UploadFile], lang: str
) -> tuple[dict[str, str], Submission | None]:
    """The problems of a sent form, by field (their words' keys), or the submission it makes."""
    problems: list[checks.Problem] = []
    text = checks.clean_text(values["text"])
    if found := checks.check_text(text):
        problems.append(found)
    category = values["category"] or None
    if found := checks.check_category(category, ctx.config().categories):
        problems.append(found)
    location: tuple[float, float] | None = None
    try:
        lat, lon = checks.parse_float(values["lat"]), checks.parse_float(values["lon"])
    except ValueError:
        problems.append(checks.Problem("location", "invalid", "coordinates must be numbers"))
    else:
        if found := checks.check_location(lat, lon, ctx.settings.bounds):
            problems.append(found)
        elif lat is not None and lon is not None:
            location = (lat, lon)
    if found := checks.check_address(values["address"]):
        problems.append(found)
    problems += checks.check_contact(values["name"], values["email"], values["phone"])
    photos, photo_problem = await _photos(uploads)
    if photo_problem:
        problems.append(checks.Problem("photos", photo_problem, photo_problem))
    errors = {p.field: f"err_{p.field}_{p.reason.replace('-', '_')}" for p in reversed(problems)}
    errors = {field: errors[field] for field in dict.fromkeys(p.field for p in problems)}  # page order
    if errors:
        return errors, None
    return {}, Submission(
        code="",
        text=text,
        language=lang,
        channel=str(Channel.WEB),
        category=category,
        address=values["address"],
        location=location,
        name=values["name"],
        email=values["email"].lower(),
        phone=values["phone"],
        publish_consent=values["consent"] == "yes",
        photos=tuple(photos),
        client=FORM_CLIENT,
    )


async def _photos(uploads: list[UploadFile]) -> tuple[list[Photo], str | None]:
    """The uploads checked by their bytes (sniffed, not by name or claimed type): the photos, or the
    reason word of the first one refused."""
    if len(uploads) > MAX_PHOTOS:
        return [], "too-many"
    photos: list[Photo] = []
    for upload in uploads:
        if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
            return [], "too-large"
        data = await upload.read(MAX_PHOTO_BYTES + 1)
        try:
            content_type = sniff(data)
        except PhotoRejected as exc:
            return [], exc.reason
        photos.append(Photo(upload.filename or "photo", content_type, data))
    return photos, None


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
