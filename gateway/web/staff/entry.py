"""Phone and walk-in entry (issue 18): a customer-service secretary enters a call or a visit, which is
committed as a receipt through intake's port like every other submission — the same checks, intake,
routing, deadlines and receipt mail — and the page shows the tracking code to read aloud. The case's
opened event says who entered it and at which desk."""

from __future__ import annotations

import dataclasses
import secrets

import structlog
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.errors import StorageError
from gateway.model import Channel
from gateway.model.tracking_code import normalise
from gateway.submission.photos import MAX_PHOTOS
from gateway.web.context import WebContext
from gateway.web.form import FIELDS, checked_submission
from gateway.web.pages import Pages
from gateway.web.staff.session import Staff, error, render, require_staff
from gateway.web.submit import submit

log = structlog.get_logger(__name__)
CHANNELS = (str(Channel.PHONE), str(Channel.WALK_IN))


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    allowed = require_staff(ctx, pages, permission="enter")

    @allowed
    async def show(request: Request, staff: Staff) -> Response:
        return _page(ctx, pages, request, staff, {"channel": str(Channel.PHONE)}, {})

    @allowed
    async def send(request: Request, staff: Staff) -> Response:
        try:
            form = await request.form(max_files=MAX_PHOTOS * 2, max_fields=40, max_part_size=64 * 1024)
        except HTTPException:
            return error(pages, request, 400, "staff_csrf_title", "console_bad_form", staff)
        try:
            return await _send(ctx, pages, request, staff, form)
        finally:
            await form.close()  # the uploads' temporary files

    @allowed
    async def done(request: Request, staff: Staff) -> Response:
        code = normalise(request.path_params["code"], ctx.prefix)
        if code is None:
            return error(pages, request, 404, "console_notfound_title", "console_notfound_text", staff)
        return render(pages, request, "staff/entered.html", staff, code=code)

    return [
        Route("/staff/entry", show, methods=["GET"]),
        Route("/staff/entry", send, methods=["POST"]),
        Route("/staff/entry/{code}", done, methods=["GET"]),
    ]


async def _send(ctx: WebContext, pages: Pages, request: Request, staff: Staff, form: FormData) -> Response:
    """Check what was entered and hand it to intake; the form again with its problems, or the code."""
    values = {name: _text(form.get(name)) for name in (*FIELDS, "channel", "desk", "nonce")}
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    lang = pages.language(request)
    errors, sub = await checked_submission(ctx, values, uploads, values.get("language") or lang)
    if values["channel"] not in CHANNELS:
        errors["channel"] = "console_err_channel"
    if len(values["desk"]) > 100:
        errors["desk"] = "console_err_desk"
    if errors or sub is None:
        return _page(ctx, pages, request, staff, values, errors, 400)
    sub = dataclasses.replace(sub, channel=values["channel"], client=staff.email, desk=values["desk"])
    try:  # the form's nonce makes a double click one case
        stored = await submit(ctx, sub, peer=staff.email, idempotency_key=values["nonce"][:64] or None)
    except StorageError as exc:
        log.error("entry not stored", error=str(exc))
        return error(pages, request, 503, "console_unavailable_title", "console_unavailable_text", staff)
    log.info("case entered", code=stored.tracking_code, by=staff.email, channel=sub.channel)
    return RedirectResponse(f"/staff/entry/{stored.tracking_code}?lang={lang}", status_code=303)


def _page(
    ctx: WebContext,
    pages: Pages,
    request: Request,
    staff: Staff,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    lang = pages.language(request)
    config = ctx.config()
    return render(
        pages,
        request,
        "staff/entry.html",
        staff,
        status,
        values={name: values.get(name, "") for name in (*FIELDS, "channel", "desk")},
        errors=errors,
        anchors={"location": "lat"},
        categories=[(key, c.display_name(lang)) for key, c in config.categories.items()],
        nonce=values.get("nonce") or secrets.token_urlsafe(16),
        had_photos=False,
    )


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
