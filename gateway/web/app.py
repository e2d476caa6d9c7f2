"""The web front's Starlette app: every page family's routes, the static files, the security headers,
the body bound and the error answers (issue 17)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.web import api, column, form, open311, open_photos, staff, tracking
from gateway.web.context import WebContext
from gateway.web.errors import for_path
from gateway.web.limits import ReadTurns
from gateway.web.pages import Pages
from gateway.web.security import BodyLimit, BodyTooLarge, SecurityHeaders

STATIC = Path(__file__).with_name("static")


def build_app(ctx: WebContext) -> Starlette:
    pages = Pages(ctx)
    routes: list[BaseRoute] = [
        *form.routes(ctx, pages),
        *tracking.routes(ctx, pages),
        *column.routes(ctx, pages),
        *open_photos.routes(ctx, pages),
        *api.routes(ctx),
        *open311.routes(ctx),
        *staff.routes(ctx, pages),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def too_large(request: Request, exc: Exception) -> Response:
        limit = ctx.settings.http_max_body_bytes
        return _too_large(request.url.path, limit, pages, request)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        if path.startswith(("/api/", "/open311/")):
            reason = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
            return for_path(path, exc.status_code, reason, str(exc.detail), dict(exc.headers or {}))
        return pages.error(request, exc.status_code, headers=dict(exc.headers or {}))

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(ReadTurns, turns=ctx.settings.web_concurrent_reads),
            Middleware(SecurityHeaders),
            Middleware(_BodyLimitAnswered, max_bytes=ctx.settings.http_max_body_bytes, pages=pages),
        ],
        exception_handlers={BodyTooLarge: too_large, HTTPException: http_error},
    )


def _too_large(path: str, limit: int, pages: Pages, request: Request | None) -> Response:
    detail = f"the request body is larger than {limit // (1024 * 1024)} MB"
    if request is not None and not path.startswith(("/api/", "/open311/")):
        return pages.error(request, 413)
    return for_path(path, 413, "too-large", detail)


class _BodyLimitAnswered:
    """`BodyLimit`, answering 413 itself when the Content-Length alone says too much (that is found
    before the app's exception handlers are in place)."""

    def __init__(self, app: ASGIApp, max_bytes: int, pages: Pages) -> None:
        self._inner = BodyLimit(app, max_bytes)
        self._max = max_bytes
        self._pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._inner(scope, receive, send)
        except BodyTooLarge:
            request = Request(scope) if scope["type"] == "http" else None
            response = _too_large(scope.get("path", ""), self._max, self._pages, request)
            await response(scope, receive, send)
