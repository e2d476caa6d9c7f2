"""Staff accounts, login, sessions and CSRF against a real daemon (issue 18): what a staff member meets
when logging in and out, and the attacks on it — password guessing, session fixation, login CSRF and
CSRF, open redirects, sessions that outlive a logout, a disabled account or their lifetime. One test walks
every route of the app, so that a console page added later without the guard fails it."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from gateway.store import users
from gateway.store.tables import staff_sessions
from gateway.store.users import Role
from gateway.web.app import build_app
from gateway.web.pages import Pages
from gateway.web.staff.session import COOKIE, Staff, require_staff, safe_next
from tests.support.daemon import RunningDaemon

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway()


def url(gw: RunningDaemon, path: str = "/") -> str:
    return f"http://127.0.0.1:{gw.parts.http.port}{path}"


def add_user(
    gw: RunningDaemon,
    email: str,
    role: Role = "agent",
    departments: Sequence[str] = (),
    name: str = "Maija Meikäläinen",
) -> users.User:
    with gw.db.write() as conn:
        return users.add_user(conn, email, name, role, departments, users.hash_password(PASSWORD), gw.clock())


@pytest.fixture
def browser_client(web: RunningDaemon) -> Iterator[httpx.Client]:
    """A client that keeps cookies, as a browser does."""
    with httpx.Client(base_url=url(web), follow_redirects=False) as client:
        yield client


def login_form(client: httpx.Client, query: str = "") -> str:
    """The login form's token, its cookie kept by *client*."""
    page = client.get(f"/staff/login{query}")
    assert page.status_code == 200, page.text[:300]
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


def login(
    client: httpx.Client, email: str, password: str = PASSWORD, next_path: str | None = None, **extra: str
) -> httpx.Response:
    data = {"email": email, "password": password, "csrf": login_form(client)}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/staff/login", data=data, headers=extra)


def logged_in(web: RunningDaemon, client: httpx.Client, email: str, role: Role = "agent") -> str:
    """Log *email* in through the form; the session's CSRF token from the landing page."""
    add_user(web, email, role)
    response = login(client, email)
    assert response.status_code == 303 and response.headers["location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200
    found = CSRF.search(home.text)
    assert found is not None
    return found.group(1)


def session_rows(gw: RunningDaemon) -> list[str]:
    with gw.db.read() as conn:
        return [str(r.id) for r in conn.execute(select(staff_sessions.c.id))]


def is_login_redirect(response: httpx.Response) -> bool:
    return response.status_code == 303 and urlsplit(response.headers["location"]).path == "/staff/login"


# -- logging in ------------------------------------------------------------------------------------------


def test_a_handler_logs_in_and_the_landing_page_says_who_with_role_and_departments(
    web: RunningDaemon, browser_client: httpx.Client
) -> None:
    add_user(web, "Handler@Hel.example", "handler", ("talvi", "pysakointi"), name="Hanna <b>Käsittelijä</b>")
    response = login(browser_client, "handler@HEL.example")
    assert response.status_code == 303 and response.headers["location"] == "/staff/"
    cookie = response.headers["set-cookie"]
    token = browser_client.cookies[COOKIE]
    assert (
        "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/staff" in cookie.lower()
    )
    assert "secure" not in cookie.lower()  # plain http here; https: the test below
    assert session_rows(web) == [hashlib.sha256(token.encode()).hexdigest()]  # never the token itself
    home = browser_client.get("/staff/")
    assert home.status_code == 200
    assert "Hanna &lt;b&gt;Käsittelijä&lt;/b&gt;" in home.text and "handler@hel.example" in home.text
    assert "Käsittelijä</dd>" in home.text
    assert "Pysäköinninvalvonta, Talvikunnossapito" in home.text
    assert home.headers["cache-control"] == "no-store" and home.headers["x-robots-tag"] == "noindex"
    assert "Kirjaudu ulos" in home.text
    english = browser_client.get("/staff/", headers={"Accept-Language": "en"})
    assert "Handler</dd>" in english.text and "Log out" in english.text


def test_the_login_page_is_in_three_languages_and_never_cached_or_indexed(web: RunningDaemon) -> None:
    fi = httpx.get(url(web, "/staff/login"))
    sv = httpx.get(url(web, "/staff/login?lang=sv"))
    en = httpx.get(url(web, "/staff/login"), headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="fi">' in fi.text and "Salasana" in fi.text
    assert '<html lang="sv">' in sv.text and "Lösenord" in sv.text
    assert '<html lang="en">' in en.text and "Password" in en.text
    for page in (fi, sv, en):
        assert page.headers["cache-control"] == "no-store" and page.headers["x-robots-tag"] == "noindex"
        assert "unsafe-inline" not in page.headers["content-security-policy"] and "<script" not in page.text
        login_cookie = page.headers["set-cookie"].lower()
        assert (
            "httponly" in login_cookie and "samesite=strict" in login_cookie and "path=/staff" in login_cookie
        )


def test_the_session_cookie_is_secure_behind_a_tls_proxy(start_gateway: Callable[..., RunningDaemon]) -> None:
    web = start_gateway(http_trusted_proxies="127.0.0.1")
    add_user(web, "agent@hel.example")
    tls = {"X-Forwarded-Proto": "https"}
    form = httpx.get(url(web, "/staff/login"), headers=tls)
    assert "secure" in form.headers["set-cookie"].lower()
    # httpx, like a browser, sends a Secure cookie over https only: here the proxy's side is plain http
    login_cookie = form.headers["set-cookie"].split(";")[0]
    found = CSRF.search(form.text)
    assert found is not None
    response = httpx.post(
        url(web, "/staff/login"),
        data={"email": "agent@hel.example", "password": PASSWORD, "csrf": found.group(1)},
        headers={**tls, "Cookie": login_cookie},
    )
    assert response.status_code == 303
    session_cookie = response.headers.get_list("set-cookie")[0].lower()
    assert session_cookie.startswith("gw_staff=") and "; secure" in session_cookie


def test_wrong_password_unknown_account_and_disabled_account_get_the_same_page_after_the_same_work(
    web: RunningDaemon, browser_client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(web, "real@hel.example")
    gone = add_user(web, "gone@hel.example")
    with web.db.write() as conn:
        users.disable_user(conn, gone.id, web.clock())
    checked: list[str] = []
    verify = users.verify_password

    def counted(password_hash: str, password: str) -> bool:
        checked.append(password_hash[:9])
        return verify(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counted)  # the daemon runs in this process
    answers = [
        login(browser_client, "real@hel.example", "not the password at all"),
        login(browser_client, "nobody@hel.example", "not the password at all"),
        login(browser_client, "gone@hel.example", PASSWORD),  # the right password of a disabled account
    ]
    assert {a.status_code for a in answers} == {400}
    bodies = {CSRF.sub("csrf", a.content.decode()) for a in answers}
    assert len(bodies) == 1 and "Väärä sähköpostiosoite tai salasana." in bodies.pop()
    assert len({CSRF.sub("", a.headers.get("set-cookie", "")) for a in answers}) == 1
    assert checked == ["$argon2id"] * 3  # one argon2 check each: an unknown address against a dummy hash
    assert session_rows(web) == []


def test_login_failures_are_limited_per_account(web: RunningDaemon, browser_client: httpx.Client) -> None:
    add_user(web, "target@hel.example")
    add_user(web, "other@hel.example")
    for _ in range(5):
        assert login(browser_client, "target@hel.example", "guess guess guess").status_code == 400
    refused = login(browser_client, "TARGET@hel.example")  # even the right password, for now
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.headers["x-robots-tag"] == "noindex"
    with httpx.Client(base_url=url(web)) as colleague:  # another account still may, from there too
        assert login(colleague, "other@hel.example").status_code == 303
    web.clock.advance(timedelta(minutes=15, seconds=1))
    assert login(browser_client, "target@hel.example").status_code == 303


def test_guesses_sent_all_at_once_do_not_pass_the_account_limit(web: RunningDaemon) -> None:
    add_user(web, "target@hel.example")
    forms = []
    for _ in range(12):
        client = httpx.Client(base_url=url(web))
        forms.append((client, login_form(client)))

    def guess(form: tuple[httpx.Client, str]) -> int:
        client, csrf = form
        data = {"email": "target@hel.example", "password": "guess guess guess", "csrf": csrf}
        return client.post("/staff/login", data=data).status_code

    with ThreadPoolExecutor(len(forms)) as pool:
        answers = sorted(pool.map(guess, forms))
    for client, _ in forms:
        client.close()
    assert answers == [400] * 5 + [429] * 7


def test_login_failures_are_limited_per_client_address(start_gateway: Callable[..., RunningDaemon]) -> None:
    web = start_gateway(http_trusted_proxies="127.0.0.1")  # X-Forwarded-For names the client
    add_user(web, "staff@hel.example")
    with httpx.Client(base_url=url(web), headers={"X-Forwarded-For": "198.51.100.7"}) as attacker:
        for n in range(20):  # 4 guesses at each of 5 addresses: under the per-account limit
            assert login(attacker, f"guess{n % 5}@hel.example", "wrong wrong wrong").status_code == 400
        refused = login(attacker, "staff@hel.example")
        assert refused.status_code == 429 and "retry-after" in refused.headers
    with httpx.Client(base_url=url(web), headers={"X-Forwarded-For": "198.51.100.8"}) as colleague:
        assert login(colleague, "staff@hel.example").status_code == 303


# -- sessions --------------------------------------------------------------------------------------------


def test_login_makes_a_new_session_whatever_cookie_the_browser_came_with(
    web: RunningDaemon, browser_client: httpx.Client
) -> None:
    add_user(web, "agent@hel.example")
    planted = "attacker-chosen-session-token-0123456789"
    browser_client.cookies.set(COOKIE, planted, domain="127.0.0.1", path="/staff")
    response = login(browser_client, "agent@hel.example")
    assert response.status_code == 303
    token = browser_client.cookies[COOKIE]
    assert token != planted and hashlib.sha256(planted.encode()).hexdigest() not in session_rows(web)
    # a browser that comes to log in with a live session (a login form left open in another tab) gets a
    # new session, and the one it had ends
    with httpx.Client(base_url=url(web)) as tab:
        csrf = login_form(tab)
        tab.cookies.set(COOKIE, token, domain="127.0.0.1", path="/staff")
        again = tab.post(
            "/staff/login", data={"email": "agent@hel.example", "password": PASSWORD, "csrf": csrf}
        )
        assert again.status_code == 303
        assert again.cookies[COOKIE] != token
    assert is_login_redirect(httpx.get(url(web, "/staff/"), cookies={COOKIE: token}))
    assert len(session_rows(web)) == 1


def test_logout_ends_the_session_on_the_server(web: RunningDaemon, browser_client: httpx.Client) -> None:
    csrf = logged_in(web, browser_client, "agent@hel.example")
    token = browser_client.cookies[COOKIE]
    out = browser_client.post("/staff/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"].startswith("/staff/login")
    assert 'gw_staff=""' in out.headers["set-cookie"] or "max-age=0" in out.headers["set-cookie"].lower()
    assert session_rows(web) == []
    replayed = httpx.get(url(web, "/staff/"), cookies={COOKIE: token})  # the old cookie, kept by a thief
    assert is_login_redirect(replayed)
    assert "Olet kirjautunut ulos." in browser_client.get(out.headers["location"]).text


def test_disabling_a_user_or_setting_a_password_ends_their_sessions_at_once(
    web: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.cli.main import main

    monkeypatch.setenv("GATEWAY_DATABASE_URL", web.settings.database_url)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(web.settings.config_dir))
    with httpx.Client(base_url=url(web)) as first, httpx.Client(base_url=url(web)) as second:
        logged_in(web, first, "first@hel.example")
        logged_in(web, second, "second@hel.example")
        monkeypatch.setattr("sys.stdin", _Stdin("a brand new password\n"))
        assert main(["user", "password", "first@hel.example"]) == 0
        assert is_login_redirect(first.get("/staff/"))
        assert login(first, "first@hel.example", "a brand new password").status_code == 303
        assert main(["user", "disable", "second@hel.example"]) == 0
        assert is_login_redirect(second.get("/staff/"))
        assert login(second, "second@hel.example").status_code == 400  # and no new one
        assert first.get("/staff/").status_code == 200


def test_a_session_ends_when_idle_and_at_its_absolute_end(
    web: RunningDaemon, browser_client: httpx.Client
) -> None:
    logged_in(web, browser_client, "agent@hel.example")
    for _ in range(20):  # in use every 29 minutes: 9 h 40 min, inside the 10 hours
        web.clock.advance(timedelta(minutes=29))
        assert browser_client.get("/staff/").status_code == 200
    web.clock.advance(timedelta(minutes=29))  # 10 h 9 min after login
    assert is_login_redirect(browser_client.get("/staff/"))

    login(browser_client, "agent@hel.example")
    assert browser_client.get("/staff/").status_code == 200
    web.clock.advance(timedelta(minutes=30, seconds=1))  # unused for longer than 30 minutes
    assert is_login_redirect(browser_client.get("/staff/"))


# -- CSRF ------------------------------------------------------------------------------------------------


def test_logout_needs_the_sessions_csrf_token(web: RunningDaemon, browser_client: httpx.Client) -> None:
    csrf = logged_in(web, browser_client, "agent@hel.example")
    assert browser_client.post("/staff/logout").status_code == 403
    assert browser_client.post("/staff/logout", data={"csrf": csrf[:-2] + "xx"}).status_code == 403
    other = httpx.Client(base_url=url(web), follow_redirects=False)
    other_csrf = logged_in(web, other, "other@hel.example")
    assert browser_client.post("/staff/logout", data={"csrf": other_csrf}).status_code == 403
    other.close()
    assert browser_client.get("/staff/").status_code == 200  # still logged in after all that
    out = browser_client.post("/staff/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 303 and is_login_redirect(browser_client.get("/staff/"))


def test_every_state_changing_staff_route_refuses_a_missing_or_wrong_csrf_token(
    web: RunningDaemon, browser_client: httpx.Client
) -> None:
    csrf = logged_in(web, browser_client, "admin@hel.example", "admin")
    unsafe = [
        (path, method)
        for path, methods in staff_routes(web)
        for method in methods
        if method in {"POST", "PUT", "PATCH", "DELETE"} and path != "/staff/login"
    ]
    assert ("/staff/logout", "POST") in unsafe
    for path, method in unsafe:
        for data in ({}, {"csrf": "not-the-token"}, {"csrf": csrf.upper()}):
            answer = browser_client.request(method, path, data=data)
            assert answer.status_code == 403, (method, path, data)
    assert browser_client.get("/staff/").status_code == 200


def test_a_login_form_from_elsewhere_is_refused(web: RunningDaemon) -> None:
    add_user(web, "agent@hel.example")
    fields = {"email": "agent@hel.example", "password": PASSWORD}
    with httpx.Client(base_url=url(web)) as victim, httpx.Client(base_url=url(web)) as attacker:
        assert victim.post("/staff/login", data=fields).status_code == 403  # no token, no cookie
        stolen = login_form(attacker)  # the attacker's own form, posted from the victim's browser
        assert victim.post("/staff/login", data={**fields, "csrf": stolen}).status_code == 403
        login_form(victim)
        assert victim.post("/staff/login", data={**fields, "csrf": stolen}).status_code == 403
        assert COOKIE not in victim.cookies
        assert victim.post("/staff/login", data={**fields, "csrf": login_form(victim)}).status_code == 303


# -- every route -----------------------------------------------------------------------------------------


def walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, frozenset[str]]]:
    """Every (path, methods) the routes answer, through Mounts: a path parameter filled with a value
    its convertor accepts."""
    for route in routes:
        if isinstance(route, Mount):
            inner = route.routes
            if inner:
                yield from walk(inner, prefix + route.path)
            else:  # an ASGI app of its own: whatever it answers under its path
                yield prefix + route.path + "/", frozenset({"GET", "POST"})
        elif isinstance(route, Route):
            yield prefix + route.path, frozenset(route.methods or {"GET"})
        elif isinstance(route, WebSocketRoute):
            yield prefix + route.path, frozenset({"GET"})
        else:
            raise AssertionError(f"a route of a kind this walk does not know: {route!r}")


def fill(path: str) -> str:
    samples = {"int": "1", "float": "1.5", "uuid": "00000000-0000-0000-0000-000000000001"}
    return re.sub(r"\{(\w+)(?::(\w+))?\}", lambda m: samples.get(m.group(2) or "", "HEL-0000-0000"), path)


def staff_routes(gw: RunningDaemon) -> list[tuple[str, frozenset[str]]]:
    app = build_app(gw.parts.web)  # the daemon's own context: the app it serves, built again
    return [(fill(p), m) for p, m in walk(app.routes) if p == "/staff" or p.startswith("/staff/")]


def test_every_staff_route_but_the_login_page_sends_a_stranger_to_the_login_page(
    web: RunningDaemon,
) -> None:
    found = staff_routes(web)
    assert {"/staff/", "/staff/logout", "/staff/login"} <= {p for p, _ in found}
    checked = 0
    for path, methods in found:
        if path == "/staff/login":
            continue
        for method in sorted(methods):
            for cookies in ({}, {COOKIE: "no-such-session-token-0123456789abcdef"}):
                answer = httpx.request(method, url(web, path), cookies=cookies, follow_redirects=False)
                assert is_login_redirect(answer), (method, path, answer.status_code)
                assert answer.headers["x-robots-tag"] == "noindex"
                checked += 1
    assert checked >= 6


def test_a_page_asks_for_the_address_it_was_going_to_and_login_returns_there(
    web: RunningDaemon, browser_client: httpx.Client
) -> None:
    add_user(web, "agent@hel.example")
    sent = browser_client.get("/staff/?lang=sv")
    assert sent.headers["location"] == "/staff/login?next=/staff/%3Flang%3Dsv"
    form = browser_client.get(sent.headers["location"])
    assert 'name="next" value="/staff/?lang=sv"' in form.text
    answer = login(browser_client, "agent@hel.example", next_path="/staff/?lang=sv")
    assert answer.headers["location"] == "/staff/?lang=sv"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/staff/",
        "/staff/../x",
        "/staff/%2e%2e/x",
        "/staff/./",
        "/\\evil.example",
        "/staff/\\..\\x",
        "/staff//evil.example",
        "javascript:alert(1)",
        "/open",
        "/staff/\r\nSet-Cookie: x=y",
        "",
    ],
)
def test_next_never_leads_off_the_staff_console(
    web: RunningDaemon, browser_client: httpx.Client, target: str
) -> None:
    add_user(web, "agent@hel.example")
    form = browser_client.get("/staff/login", params={"next": target})
    assert 'name="next" value="/staff/"' in form.text
    answer = login(browser_client, "agent@hel.example", next_path=target)
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/"


def test_safe_next_keeps_only_paths_of_the_console() -> None:
    assert safe_next("/staff/cases/HEL-0000-0000?tab=events") == "/staff/cases/HEL-0000-0000?tab=events"
    assert safe_next("/staff/queues/") == "/staff/queues/"
    for bad in ("//x", "///x", "http://x/staff/", "/staff", "/staff/a/../../x", "/staff/%2E%2E/", None):
        assert safe_next(bad) == "/staff/"


# -- the guard the console pages use ---------------------------------------------------------------------


def test_require_staff_lets_in_only_the_roles_and_permissions_a_page_asks_for(web: RunningDaemon) -> None:
    ctx = web.parts.web
    pages = Pages(ctx)

    @require_staff(ctx, pages, permission="publish")
    async def publish(request: Request, staff: Staff) -> Response:
        return PlainTextResponse(f"{staff.email} {staff.role}")

    @require_staff(ctx, pages, roles=("handler",))
    async def handlers_only(request: Request, staff: Staff) -> Response:
        return PlainTextResponse(",".join(staff.departments))

    app = Starlette(
        routes=[
            Route("/staff/publish", publish, methods=["GET", "POST"]),
            Route("/staff/mine", handlers_only),
        ]
    )
    tokens: dict[str, str] = {}
    csrf: dict[str, str] = {}
    for role in ("agent", "handler", "moderator", "admin"):
        user = add_user(web, f"{role}@hel.example", role, ("talvi",) if role == "handler" else ())
        with web.db.write() as conn:
            tokens[role], csrf[role] = users.start_session(conn, user.id, web.clock(), timedelta(hours=1))

    async def ask(method: str, path: str, role: str, data: dict[str, str] | None = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        cookies = {COOKIE: tokens[role]}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", cookies=cookies) as client:
            return await client.request(method, path, data=data)

    def status(path: str, role: str) -> int:
        return asyncio.run(ask("GET", path, role)).status_code

    roles = ("agent", "handler", "moderator", "admin")
    assert [status("/staff/publish", r) for r in roles] == [403, 403, 200, 200]
    assert [status("/staff/mine", r) for r in roles] == [403, 200, 403, 403]
    posted = asyncio.run(ask("POST", "/staff/publish", "moderator", {"csrf": csrf["moderator"]}))
    assert posted.status_code == 200 and posted.text == "moderator@hel.example moderator"
    assert asyncio.run(ask("POST", "/staff/publish", "moderator", {})).status_code == 403
    assert asyncio.run(ask("POST", "/staff/publish", "moderator", {"csrf": csrf["admin"]})).status_code == 403


def test_the_permission_table_gives_each_role_what_issue_18_says() -> None:
    def user(role: Role, departments: tuple[str, ...] = ()) -> users.User:
        now = datetime(2026, 3, 10, tzinfo=UTC)
        return users.User(1, "x@hel.example", "X", role, departments, now, None, now)

    agent, handler, moderator, admin = (
        user("agent"), user("handler", ("talvi",)), user("moderator"), user("admin"),
    )  # fmt: skip
    assert agent.can("enter") and agent.can("route") and not agent.can("answer")
    assert handler.can("answer") and handler.sees("talvi") and not handler.sees("pysakointi")
    assert not handler.can("publish") and not handler.can("enter")
    assert moderator.can("publish") and not moderator.can("answer") and not moderator.can("manage_users")
    assert all(admin.can(p) for p in ("enter", "route", "answer", "publish", "read_all", "manage_users"))


class _Stdin:
    """Standard input that is not a terminal, as `gateway user password < file` has it."""

    def __init__(self, text: str) -> None:
        self._text = text

    def isatty(self) -> bool:
        return False

    def read(self) -> str:
        return self._text
