"""Who is logged in to the staff console, and the guard every console page stands behind (issue 18).

A console page is an endpoint `async def page(request, staff) -> Response` wrapped by `require_staff`:

    @require_staff(ctx, pages, permission="answer")
    async def answer(request: Request, staff: Staff) -> Response: ...

Without a live session the wrapper answers `303` to the login page (with `next` for a GET), with the wrong
role or permission `403`, and for POST, PUT, PATCH and DELETE it checks the session's CSRF token (the form
field `csrf` or the header `X-CSRF-Token`) before the page runs: a page cannot forget it. Templates put the
token in their forms with `{% include "staff/_csrf.html" %}`, and render through `render`, which adds who
is logged in and the headers every staff answer carries (no cache, no index).
"""

from __future__ import annotations

import hmac
import posixpath
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.store import users
from gateway.store.users import Permission, Role, StaffSession, User
from gateway.web.context import WebContext
from gateway.web.pages import Pages

COOKIE = "gw_staff"
PATH = "/staff"
HOME = "/staff/"
LOGIN = "/staff/login"
HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex"}  # on every staff answer
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD, CSRF_HEADER = "csrf", "x-csrf-token"
# last_seen_at is written at most this often: a console page read is not a database write each time. A
# session may so end up to this much before its idle time is quite over.
TOUCH_EVERY = timedelta(minutes=1)
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True)
class Staff:
    """The person behind a request to the console: their account, and their session's id and CSRF token."""

    user: User
    session: str  # the session's id (the hash of its cookie's token)
    csrf: str

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def departments(self) -> tuple[str, ...]:
        return self.user.departments

    def can(self, permission: Permission) -> bool:
        return self.user.can(permission)

    def sees(self, department: str | None) -> bool:
        return self.user.sees(department)


StaffPage = Callable[[Request, "Staff"], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def idle_limit(ctx: WebContext) -> timedelta:
    return timedelta(minutes=ctx.settings.staff_session_idle_minutes)


def lifetime(ctx: WebContext) -> timedelta:
    return timedelta(hours=ctx.settings.staff_session_hours)


def cookie_token(request: Request) -> str | None:
    """The session cookie's token when it looks like one of ours (else it is not even looked up)."""
    token = request.cookies.get(COOKIE, "")
    return token if 20 <= len(token) <= 64 and set(token) <= _TOKEN_CHARS else None


async def current_staff(ctx: WebContext, request: Request) -> Staff | None:
    """The staff member of *request*'s live session, or None. Checked against the database at every
    request on the daemon's clock: a session ended by logout, a new password or a disabled account is
    gone at once. Kept on `request.state.staff` for the rest of the request."""
    known = getattr(request.state, "staff", None)
    if isinstance(known, Staff):
        return known
    token = cookie_token(request)
    if token is None:
        return None
    now = ctx.clock()

    def find() -> StaffSession | None:
        with ctx.db.read() as conn:
            return users.find_session(conn, token, now, idle_limit(ctx))

    session = await ctx.run(find)
    if session is None:
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:

        def touch() -> None:
            with ctx.db.write(durable=False) as conn:  # lost in a power cut: the session ends a bit early
                users.touch_session(conn, session.id, now)

        await ctx.run(touch)
    staff = Staff(session.user, session.id, session.csrf_token)
    request.state.staff = staff
    return staff


async def csrf_ok(request: Request, staff: Staff) -> bool:
    """Whether *request* carries *staff*'s session CSRF token, in the header `X-CSRF-Token` or the form
    field `csrf`. The form read here is kept by Starlette: the page's own `await request.form()` gets it."""
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:
                value = (await request.form()).get(CSRF_FIELD)
            except HTTPException:  # a body no form of ours sends
                return False
            given = value if isinstance(value, str) else None
    return given is not None and hmac.compare_digest(given.encode(), staff.csrf.encode())


def require_staff(
    ctx: WebContext,
    pages: Pages,
    *,
    roles: tuple[Role, ...] | None = None,
    permission: Permission | None = None,
) -> Callable[[StaffPage], Endpoint]:
    """Wrap a console page: it runs only for a live session whose role is one of *roles* (default: any)
    and that has *permission* (default: none needed), and, for a state-changing method, only with the
    session's CSRF token. See the module's docstring."""

    def wrap(page: StaffPage) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            staff = await current_staff(ctx, request)
            if staff is None:
                return to_login(request)
            if (roles is not None and staff.role not in roles) or (
                permission is not None and not staff.can(permission)
            ):
                return error(pages, request, 403, "staff_forbidden_title", "staff_forbidden_text", staff)
            if request.method in UNSAFE and not await csrf_ok(request, staff):
                return error(pages, request, 403, "staff_csrf_title", "staff_csrf_text", staff)
            return with_headers(await page(request, staff))

        endpoint.__name__ = getattr(page, "__name__", "staff_page")
        endpoint.__doc__ = page.__doc__
        return endpoint

    return wrap


def to_login(request: Request) -> Response:
    """`303` to the login page; a GET's own address goes along as `next`. A cookie that named no live
    session is cleared."""
    target = LOGIN
    if request.method in ("GET", "HEAD"):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if safe_next(here) == here and here != HOME:
            target = f"{LOGIN}?next={quote(here, safe='/')}"
    response = with_headers(RedirectResponse(target, status_code=303))
    if COOKIE in request.cookies:
        clear_cookie(response, request)
    return response


def safe_next(value: str | None) -> str:
    """*value* when it is a path of the staff console on this site, else the console's home: never an
    address elsewhere (`//evil.example`, `https://evil.example`, `/\\evil.example`) nor a way out of
    /staff/ (`/staff/../x`, percent-encoded or not)."""
    if not value or len(value) > 2000 or any(ord(c) < 0x21 or c == "\\" for c in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment:
        return HOME
    path = unquote(parts.path)
    if not path.startswith(HOME) or "//" in path or "\\" in path:
        return HOME
    if posixpath.normpath(path) + ("/" if path.endswith("/") else "") != path:
        return HOME  # dot segments: a browser resolves them, possibly out of /staff/
    return value


def set_cookie(response: Response, request: Request, token: str, max_age: timedelta) -> None:
    """The session cookie: script cannot read it, other sites' requests other than top-level GETs do
    not carry it, and it is only sent over https when the request came over https (uvicorn sets the
    scheme from X-Forwarded-Proto for the trusted proxies only)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(max_age.total_seconds()),
        path=PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, secure=request.url.scheme == "https", httponly=True, samesite="lax"
    )


def with_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response


def render(
    pages: Pages,
    request: Request,
    template: str,
    staff: Staff | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """A staff page: `pages.render` with `staff` (who is logged in, or None) and the staff headers."""
    response = pages.render(request, template, status, {**HEADERS, **(headers or {})}, staff=staff, **values)
    return response


def error(
    pages: Pages, request: Request, status: int, title: str, text: str, staff: Staff | None = None
) -> HTMLResponse:
    """A staff error page: *title* and *text* are keys of the staff words."""
    return render(pages, request, "staff/error.html", staff, status, title_key=title, text_key=text)
