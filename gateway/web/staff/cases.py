"""The console's queues and case page (issue 18). Queues: new, open, due soon, overdue, waiting, by
department, the parked receipts; counts on each, sorting, paging, search by code, address or words. The
case page: the messages in order with their attachments, the routing decision and its reasons, the clock,
every event with who and when; and the actions — answer, reroute, set waiting or closed, internal note.
A handler sees only its departments' cases (another department's case answers 403); every action goes
through `gateway.casework.console`, the same rules as by mail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode

import structlog
from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.casework.console import ConsoleDesk
from gateway.casework.console import Staff as Actor
from gateway.errors import NoSuchCase, UnknownDepartment
from gateway.model import CaseStatus
from gateway.model.tracking_code import normalise
from gateway.store import queues
from gateway.store.casefile import CaseFile, attachment, case_file
from gateway.store.users import Permission
from gateway.web.context import WebContext
from gateway.web.pages import Pages
from gateway.web.staff.display import local_time, office_name
from gateway.web.staff.session import Staff, error, render, require_staff

log = structlog.get_logger(__name__)
MAX_ANSWER = 20_000
ACTIONS = ("answer", "reroute", "status", "note")
OVERVIEW_SECONDS = 5.0  # how old the queue counts may be
# What each action needs; a handler (answer) may also reroute, set the status of and note its cases.
NEEDS: dict[str, Permission | None] = {
    "answer": "answer",
    "reroute": "route",
    "status": "route",
    "note": None,
}


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    any_staff = require_staff(ctx, pages)
    # The counts beside the queues, by the departments a user may see: one pass over every open case,
    # made at most every OVERVIEW_SECONDS (bench/RESULTS.md, issue 18).
    overviews: TTLCache[tuple[str, ...] | None, queues.Overview] = TTLCache(
        maxsize=1024, ttl=OVERVIEW_SECONDS
    )

    @any_staff
    async def queue(request: Request, staff: Staff) -> Response:
        q = request.query_params
        name = q.get("queue", "open") if q.get("queue", "open") in queues.QUEUES else "open"
        department = q.get("department") or None
        sort = q.get("sort", "due") if q.get("sort", "due") in queues.SORTS else "due"
        descending = q.get("desc") == "1"
        page = int(q["page"]) if q.get("page", "").isdigit() else 1
        search = q.get("q", "").strip()[:200]
        scope = _scope(staff)
        now = ctx.clock()

        key = tuple(scope) if scope is not None else None
        known = overviews.get(key)

        def read() -> tuple[queues.Overview, queues.Page]:
            with ctx.db.read() as conn:
                seen = known or queues.overview(conn, now, scope)
                page_of = queues.queue_page(
                    conn, name, now, departments=scope, department=department, sort=sort,
                    descending=descending, page=page, search=search,
                    total=None if search else seen.total(name, department),
                )  # fmt: skip
                return seen, page_of

        seen, found = await ctx.run(read)
        overviews[key] = seen
        counts, departments = seen.counts, seen.by_department
        lang = pages.language(request)
        config = ctx.config()
        here = {
            "queue": name,
            "department": department or "",
            "sort": sort,
            "desc": "1" if descending else "",
        }
        return render(
            pages, request, "staff/queues.html", staff,
            queue=name, queues=queues.QUEUES, counts=counts, departments=departments, department=department,
            sort=sort, descending=descending, search=search, page=found,
            office=lambda key: office_name(config, key, lang), when=local_time(config.timezone),
            link=lambda **change: "/staff/queues?" + urlencode({**here, "lang": lang, **change}),
        )  # fmt: skip

    @require_staff(ctx, pages, permission="read_all")
    async def parked(request: Request, staff: Staff) -> Response:
        def read() -> list[queues.ParkedReceipt]:
            with ctx.db.read() as conn:
                return queues.parked(conn)

        found = await ctx.run(read)
        return render(
            pages, request, "staff/parked.html", staff, receipts=found, when=local_time(ctx.config().timezone)
        )

    @any_staff
    async def show(request: Request, staff: Staff) -> Response:
        found = await _file(ctx, request)
        if found is None or not staff.sees(found.case.department):  # another office's case looks unknown
            return _not_found(pages, request, staff, found)
        lang = pages.language(request)
        config = ctx.config()
        return render(
            pages, request, "staff/case.html", staff,
            file=found, case=found.case, office=lambda key: office_name(config, key, lang),
            when=local_time(config.timezone), offices=sorted(config.departments),
            done=request.query_params.get("done", ""), problem=request.query_params.get("problem", ""),
            statuses=[str(s) for s in (CaseStatus.WAITING, CaseStatus.CLOSED, CaseStatus.ROUTED)],
        )  # fmt: skip

    @any_staff
    async def act(request: Request, staff: Staff) -> Response:
        action = request.path_params["action"]
        found = await _file(ctx, request)
        if found is None or not staff.sees(found.case.department) or action not in ACTIONS:
            return _not_found(pages, request, staff, found)
        allowed = NEEDS[action]
        if allowed is not None and not (staff.can(allowed) or (action != "answer" and staff.can("answer"))):
            return error(pages, request, 403, "staff_forbidden_title", "staff_forbidden_text", staff)
        form = await request.form()
        values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
        outcome = await ctx.run(_do, ctx.console, action, found.case.code, values, staff, ctx.clock)
        overviews.clear()  # what staff just did shows in the counts at once
        lang = pages.language(request)
        key = "problem" if outcome.startswith("!") else "done"
        query = urlencode({"lang": lang, key: outcome.lstrip("!")})
        return RedirectResponse(f"/staff/cases/{found.case.code}?{query}#{key}", status_code=303)

    @any_staff
    async def download(request: Request, staff: Staff) -> Response:
        found = await _file(ctx, request)
        if found is None or not staff.sees(found.case.department):
            return _not_found(pages, request, staff, found)
        number = request.path_params["id"]

        def read() -> tuple[str, str, bytes] | None:
            with ctx.db.read() as conn:
                return attachment(conn, found.case.code, number)

        item = await ctx.run(read)
        if item is None:
            return _not_found(pages, request, staff, None)
        filename, _, content = item
        # Shown as a download, never rendered in our origin: a resident's file is untrusted content.
        safe = "".join(c for c in filename if c.isalnum() or c in "._-")[:80] or "attachment"
        headers = {
            "content-disposition": f'attachment; filename="{safe}"',
            "x-content-type-options": "nosniff",
        }
        return Response(content, media_type="application/octet-stream", headers=headers)

    return [
        Route("/staff/queues", queue, methods=["GET"]),
        Route("/staff/parked", parked, methods=["GET"]),
        Route("/staff/cases/{code}", show, methods=["GET"]),
        Route("/staff/cases/{code}/{action}", act, methods=["POST"]),
        Route("/staff/cases/{code}/attachments/{id:int}", download, methods=["GET"]),
    ]


def _do(
    console: ConsoleDesk | None,
    action: str,
    code: str,
    v: dict[str, str],
    staff: Staff,
    clock: Callable[[], datetime],
) -> str:
    """Carry out *action*; a word for the page, "!" first when it was refused."""
    if console is None:
        raise RuntimeError("the web front was built without the console desk")
    actor = Actor(staff.email, staff.name)
    text = v.get("text", "")
    try:
        if action == "answer":
            if not text or len(text) > MAX_ANSWER:
                return "!empty-answer"
            return "answered" if console.answer(code, text, actor, clock()) else "answered-not-relayed"
        if action == "reroute":
            if not v.get("why"):
                return "!no-reason"
            console.reroute(code, v.get("department", ""), v["why"], actor, clock())
            return "rerouted"
        if action == "status":
            console.set_status(code, CaseStatus(v.get("status", "")), v.get("why", ""), actor, clock())
            return "status"
        if not text:
            return "!empty-note"
        console.note(code, text[:MAX_ANSWER], actor, clock())
        return "noted"
    except UnknownDepartment:
        return "!unknown-department"
    except (ValueError, NoSuchCase):
        return "!refused"


async def _file(ctx: WebContext, request: Request) -> CaseFile | None:
    code = normalise(request.path_params["code"], ctx.prefix)
    if code is None:
        return None

    def read() -> CaseFile | None:
        with ctx.db.read() as conn:
            return case_file(conn, code)

    return await ctx.run(read)


def _not_found(pages: Pages, request: Request, staff: Staff, found: CaseFile | None) -> Response:
    if found is not None:  # it exists, but not for this handler: say so without showing it
        log.info("a handler asked for another department's case", by=staff.email, case=found.case.code)
        return error(pages, request, 403, "staff_forbidden_title", "staff_forbidden_text", staff)
    return error(pages, request, 404, "console_notfound_title", "console_notfound_text", staff)


def _scope(staff: Staff) -> tuple[str, ...] | None:
    return None if staff.can("read_all") else staff.departments
