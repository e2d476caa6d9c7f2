"""The tracking page (`GET /track/{code}`) and the look-up form's target (`GET /track?code=`): every case
can be followed by its code, whatever its channel and whether or not it is published — its status in
words, the public timeline, the expected answer date and the published answer. Nothing personal is read
for it (`gateway.store.public`). Unknown codes all get the same 404 page, and look-ups are rate-limited
per client so that codes cannot be enumerated (issue 17)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.model.tracking_code import normalise
from gateway.store.public import PublicCase, find_public_case
from gateway.web.context import WebContext
from gateway.web.limits import retry_after
from gateway.web.pages import Pages


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    async def lookup(request: Request) -> Response:
        """The look-up form sends the code as a query; the page of a code has an address of its own."""
        lang = pages.language(request)
        code = normalise(request.query_params.get("code", ""), ctx.prefix)
        if code is None:  # a mistyped code gets the page every unknown code gets
            return await _page(ctx, pages, request, request.query_params.get("code", "")[:20])
        return RedirectResponse(f"/track/{quote(code)}?lang={lang}", status_code=303)

    async def page(request: Request) -> Response:
        return await _page(ctx, pages, request, request.path_params["code"])

    return [Route("/track", lookup, methods=["GET"]), Route("/track/{code}", page, methods=["GET"])]


async def _page(ctx: WebContext, pages: Pages, request: Request, given: str) -> Response:
    peer = request.client.host if request.client else ""
    if wait := ctx.lookups.check(peer):
        return pages.error(request, 429, {"retry-after": retry_after(wait)})
    code = normalise(given, ctx.prefix)
    case = await ctx.run(_read, ctx, code) if code else None
    if case is None:
        return pages.error(request, 404)
    lang = pages.language(request)
    return pages.render(request, "track.html", lang=lang, **_view(ctx, pages, case, lang))


def _read(ctx: WebContext, code: str) -> PublicCase | None:
    with ctx.db.read() as conn:
        return find_public_case(conn, code)


def _view(ctx: WebContext, pages: Pages, case: PublicCase, lang: str) -> dict[str, Any]:
    config = ctx.config()
    tz = config.timezone
    words = pages.texts[lang]

    def office(key: str | None) -> str:
        department = config.departments.get(key) if key else None
        return department.display_name(lang) if department is not None else ""

    steps = []
    for step in case.timeline:
        text = words[f"ms_{step.kind}"].replace("{office}", office(step.department) or "–")
        steps.append({"when": _when(step.at, tz), "iso": step.at.astimezone(tz).isoformat(), "text": text})
    status = str(case.status) if case.status is not None else "received"
    answer = case.publication.answer if case.publication else ""
    return {
        "case": case,
        "case_status": status,
        "office": office(case.department),
        "expected": _when(case.due_at, tz, with_time=False) if case.due_at else "",
        "expected_iso": case.due_at.astimezone(tz).date().isoformat() if case.due_at else "",
        "steps": steps,
        "answer": [p.strip() for p in answer.split("\n\n") if p.strip()],
    }


def _when(at: datetime, tz: ZoneInfo, with_time: bool = True) -> str:
    """A moment as people read it here: 4.12.2026 klo 10.15 reads well in all three languages."""
    local = at.astimezone(tz)
    day = f"{local.day}.{local.month}.{local.year}"
    return f"{day} {local.hour:02d}.{local.minute:02d}" if with_time else day
