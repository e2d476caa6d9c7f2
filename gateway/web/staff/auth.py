"""Logging in and out of the staff console, and its home page (issue 18): `GET`/`POST /staff/login`,
`POST /staff/logout`, `GET /staff/`.

- Login CSRF: the login form is bound to its browser by a signed double-submit cookie. `GET` sets
  `gw_staff_login` (a token of `security.issue_token`: time, nonce, MAC) and the form carries a MAC of it;
  a form posted from another site has no such cookie (SameSite=Strict) and is refused with `403`.
- Password guessing: failures are counted per account and per client address in a sliding window
  (`FailureLimiter`); past the limit `429` with `Retry-After`, before the password is looked at. An
  unknown account, a disabled one and a wrong password get the same page, after the same work: an
  unknown address is checked against a dummy hash.
- Session fixation: every login makes a new session (a new random token), and a session the browser
  came with is ended; the token is kept only as its SHA-256 (`store/users.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import OrderedDict, deque
from datetime import datetime, timedelta

import structlog
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.errors import StorageError
from gateway.store import users
from gateway.store.users import User
from gateway.web.context import WebContext
from gateway.web.limits import retry_after
from gateway.web.pages import Pages
from gateway.web.security import TokenProblem, check_token, issue_token
from gateway.web.staff.session import (
    HOME,
    LOGIN,
    PATH,
    Staff,
    clear_cookie,
    cookie_token,
    current_staff,
    error,
    lifetime,
    render,
    require_staff,
    safe_next,
    set_cookie,
    with_headers,
)

log = structlog.get_logger(__name__)

LOGIN_COOKIE = "gw_staff_login"
LOGIN_FORM_HOURS = 2  # a login form older than this is shown again
ACCOUNT_FAILURES = 5  # failed logins per account in WINDOW, then 429 for that account
CLIENT_FAILURES = 20  # failed logins from one client address in WINDOW, then 429 for that address
WINDOW = timedelta(minutes=15)
HASHING_AT_ONCE = 4  # argon2 takes 64 MiB and ~0.1 s of a core per check: a flood waits its turn
DUMMY_PASSWORD = "not-anyone's-password: checked for unknown accounts so they take as long"


class FailureLimiter:
    """At most *limit* failures per key in a sliding *window* of the daemon's clock, in this process's
    memory (like `web/limits.py`). The oldest keys go first past *max_keys*."""

    def __init__(self, limit: int, window: timedelta, max_keys: int = 100_000) -> None:
        self._limit = limit
        self._window = window
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    def wait(self, key: str, now: datetime) -> float:
        """0.0 when *key* may try again now, else the seconds until its oldest counted failure expires."""
        times = self._recent(key, now)
        if len(times) < self._limit:
            return 0.0
        return max(1.0, (times[0] + self._window - now).total_seconds())

    def fail(self, key: str, now: datetime) -> None:
        times = self._recent(key, now)
        times.append(now)
        self._failures[key] = times
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def undo(self, key: str, at: datetime) -> None:
        """Take back the failure counted for *key* at *at* (an attempt that turned out right)."""
        times = self._failures.get(key)
        if times is not None and at in times:
            times.remove(at)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(key, deque())
        while times and times[0] + self._window <= now:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    login_key = hmac.new(ctx.form_key, b"staff-login", hashlib.sha256).digest()
    accounts = FailureLimiter(ACCOUNT_FAILURES, WINDOW)
    clients = FailureLimiter(CLIENT_FAILURES, WINDOW)
    hashing = asyncio.Semaphore(HASHING_AT_ONCE)
    dummy: list[str] = []  # the dummy hash, made at the first login rather than at every start

    def login_csrf(cookie: str) -> str:
        return hmac.new(login_key, b"login-form\x00" + cookie.encode(), hashlib.sha256).hexdigest()

    def valid_login_cookie(request: Request) -> str | None:
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        try:
            check_token(cookie, login_key, ctx.clock(), 0, LOGIN_FORM_HOURS * 3600)
        except TokenProblem:
            return None
        return cookie

    def form_page(
        request: Request, lang: str, next_path: str, status: int = 200, problem: str | None = None
    ) -> Response:
        """The login form, bound to this browser by its cookie (a valid one is kept, else a new one)."""
        cookie = valid_login_cookie(request) or issue_token(login_key, ctx.clock())
        response = render(
            pages,
            request,
            "staff/login.html",
            status=status,
            lang=lang,
            login_csrf=login_csrf(cookie),
            next=next_path,
            problem=problem,
            logged_out=request.query_params.get("out") == "1",
        )
        response.set_cookie(
            LOGIN_COOKIE,
            cookie,
            max_age=LOGIN_FORM_HOURS * 3600,
            path=PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def show(request: Request) -> Response:
        next_path = safe_next(request.query_params.get("next"))
        if await current_staff(ctx, request) is not None:
            return with_headers(RedirectResponse(next_path, status_code=303))
        return form_page(request, pages.language(request), next_path)

    async def login(request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
        except HTTPException:
            return error(pages, request, 400, "error_title", "error_text")
        lang = pages.language(request)  # the form is sent to /staff/login?lang=
        next_path = safe_next(_text(form, "next"))
        cookie = valid_login_cookie(request)
        if cookie is None or not hmac.compare_digest(
            _text(form, "csrf").encode(), login_csrf(cookie).encode()
        ):
            log.info("staff login refused: no valid login form token", peer=_peer(request))
            return form_page(request, lang, next_path, 403, "staff_login_expired")
        email = users.normalise_email(_text(form, "email"))[:254]
        peer, now = _peer(request), ctx.clock()
        if wait := max(accounts.wait(email, now), clients.wait(peer, now)):
            log.info("staff login refused: too many failures", peer=peer)
            headers = {"retry-after": retry_after(wait)}
            return render(
                pages, request, "staff/error.html", None, 429, headers, lang=lang,
                title_key="staff_toomany_title", text_key="staff_toomany_text",
            )  # fmt: skip
        # Counted as a failure before the check and taken back after a success: guesses sent all at once
        # cannot pass the limit while they wait for the hashing.
        accounts.fail(email, now)
        clients.fail(peer, now)
        password = _text(form, "password", strip=False)
        try:
            async with hashing:
                user = await ctx.run(check_login, email, password)
            if user is None:
                log.info("staff login failed", peer=peer)  # not the address: a password may be typed there
                return form_page(request, lang, next_path, 400, "staff_login_failed")
            accounts.forget(email)
            clients.undo(peer, now)
            token = await ctx.run(begin, user, cookie_token(request))
        except StorageError as exc:
            log.error("staff login not checked or session not stored", error=str(exc))
            return error(pages, request, 503, "unavailable_title", "error_text")
        log.info("staff logged in", user=user.email, peer=peer)
        response = with_headers(RedirectResponse(next_path, status_code=303))
        set_cookie(response, request, token, lifetime(ctx))
        response.delete_cookie(LOGIN_COOKIE, path=PATH, secure=request.url.scheme == "https", httponly=True)
        return response

    def check_login(email: str, password: str) -> User | None:
        """The enabled account *email* whose password *password* is, else None; the same work is done
        for an unknown account (a dummy hash), a disabled one and a wrong password."""
        if not dummy:  # at the first attempt after start, whoever it names: it costs a hashing
            dummy.append(users.hash_password(DUMMY_PASSWORD))
        with ctx.db.read() as conn:
            found = users.find_login(conn, email) if email else None
        if found is None:
            users.verify_password(dummy[0], password[: users.MAX_PASSWORD])
            return None
        user, password_hash = found
        if not users.verify_password(password_hash, password[: users.MAX_PASSWORD]):
            return None
        if not user.enabled or len(password) > users.MAX_PASSWORD:
            return None
        if users.needs_rehash(password_hash):
            with ctx.db.write() as conn:
                users.replace_hash(conn, user.id, users.hash_password(password))
        return user

    def begin(user: User, old_token: str | None) -> str:
        """A new session for *user*; the session the browser came with (if any) ends, and so do the
        sessions that can no longer be used."""
        now = ctx.clock()
        with ctx.db.write() as conn:
            if old_token is not None:
                users.end_session(conn, users.session_id(old_token))
            users.purge_sessions(conn, now, timedelta(minutes=ctx.settings.staff_session_idle_minutes))
            token, _csrf = users.start_session(conn, user.id, now, lifetime(ctx))
        return token

    @require_staff(ctx, pages)
    async def logout(request: Request, staff: Staff) -> Response:
        def end() -> None:
            with ctx.db.write() as conn:
                users.end_session(conn, staff.session)

        await ctx.run(end)
        log.info("staff logged out", user=staff.email)
        lang = pages.language(request)
        response = RedirectResponse(f"{LOGIN}?lang={lang}&out=1", status_code=303)
        clear_cookie(response, request)
        return response

    @require_staff(ctx, pages)
    async def home(request: Request, staff: Staff) -> Response:
        lang = pages.language(request)
        config = ctx.config()
        names = [
            d.display_name(lang) if (d := config.departments.get(key)) is not None else key
            for key in staff.departments
        ]
        return render(pages, request, "staff/home.html", staff, lang=lang, departments=names)

    return [
        Route(LOGIN, show, methods=["GET"]),
        Route(LOGIN, login, methods=["POST"]),
        Route("/staff/logout", logout, methods=["POST"]),
        Route(HOME, home, methods=["GET"]),
    ]


def _peer(request: Request) -> str:
    return request.client.host if request.client else ""


def _text(form: FormData, name: str, strip: bool = True) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.strip() if strip else value
