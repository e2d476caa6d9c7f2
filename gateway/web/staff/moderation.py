"""The moderator's side of the console (issue 18): `GET /staff/moderation` (the answered cases waiting
for publication and the published ones, each list paged, newest first), `GET /staff/moderation/{code}`
(the public question and answer in two textareas, the proposed redactions as ticked checkboxes, the
photos), `POST .../apply` (the ticked proposals applied, the page shown again), `POST .../publish`,
`POST .../withdraw`, and `GET .../photos/{id}` (a photo of the case for the moderator's eyes). Moderators
and admins only (`publish`); every POST passes the session's CSRF check in `require_staff`. What may be
published is decided in `gateway.casework.moderation`, and checked there again on publishing.

The page works without JavaScript: "apply" is a second submit button of the one form (`formaction`). A
proposal names its place by its number in the list made for the text shown, and the form carries a
fingerprint of that text: a text edited before "apply" no longer matches, and then nothing is applied
and the proposals are made again for the edited text (`proposals.apply` would refuse stale offsets).
A proposal the moderator unticked stays unticked on the next round (`keep`)."""

from __future__ import annotations

import hashlib
from typing import get_args
from urllib.parse import urlencode

import structlog
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.casework.moderation import (
    BLOCKING,
    MAX_TEXT,
    MAX_WHY,
    Draft,
    Moderation,
    Reason,
    Refused,
    normalise,
    redact,
)
from gateway.casework.proposals import Finding
from gateway.errors import NoSuchCase
from gateway.model.tracking_code import normalise as normalise_code
from gateway.web.column import title_of
from gateway.web.context import WebContext
from gateway.web.pages import Pages
from gateway.web.staff.display import local_time, office_name
from gateway.web.staff.session import Staff, error, render, require_staff

log = structlog.get_logger(__name__)
PAGE_SIZE = 20
MAX_PAGE = 10_000
PARTS = {"q": "question", "a": "answer"}
DONE = ("published", "withdrawn", "applied", "stale")  # the notices a page shows
PROBLEMS = get_args(Reason)


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    moderation = Moderation(ctx.db)
    allowed = require_staff(ctx, pages, permission="publish")

    @allowed
    async def listing(request: Request, staff: Staff) -> Response:
        q = request.query_params
        page, published_page = _number(q.get("page")), _number(q.get("published_page"))
        waiting = await ctx.run(moderation.waiting, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        public = await ctx.run(moderation.published, (published_page - 1) * PAGE_SIZE, PAGE_SIZE)
        lang = pages.language(request)
        config = ctx.config()

        def link(**change: int) -> str:
            here = {"page": page, "published_page": published_page, **change}
            return "/staff/moderation?" + urlencode(
                {"lang": lang, **{k: v for k, v in here.items() if v > 1}}
            )

        return render(
            pages, request, "staff/moderation.html", staff,
            waiting=waiting[1], waiting_pager=_pager(waiting[0], page),
            published=public[1], published_pager=_pager(public[0], published_page),
            link=link, office=lambda key: office_name(config, key, lang), when=local_time(config.timezone),
            title_of=title_of, done=_word(q.get("done"), DONE), problem=_word(q.get("problem"), PROBLEMS),
            code=_code_of(ctx, q.get("code")),
        )  # fmt: skip

    @allowed
    async def show(request: Request, staff: Staff) -> Response:
        code = _code(ctx, request)
        draft = await _draft(ctx, moderation, code)
        if draft is None:
            return _not_found(pages, request, staff)
        if request.query_params.get("from") == "original":
            draft = await _draft(ctx, moderation, code, draft.original_question, draft.original_answer)
            assert draft is not None
        q = request.query_params
        ticked = {p.id for p in draft.photos if p.ticked}
        done, problem = _word(q.get("done"), DONE), _word(q.get("problem"), PROBLEMS)
        return _page(ctx, pages, request, staff, draft, ticked, done=done, problem=problem)

    @allowed
    async def apply(request: Request, staff: Staff) -> Response:
        code = _code(ctx, request)
        form = await request.form()
        question, answer = _posted(form, "question"), _posted(form, "answer")
        draft = await _draft(ctx, moderation, code, question, answer)
        if draft is None:
            return _not_found(pages, request, staff)
        accepted, shown = set(form.getlist("accept")), set(form.getlist("shown"))
        keep = {str(v) for v in form.getlist("keep")}
        texts: dict[str, str] = {}
        stale = False
        for prefix, name in PARTS.items():
            part = draft.question if name == "question" else draft.answer
            if _fingerprint(part.text) != _text(form, f"{name}_sha"):
                stale, texts[name] = True, part.text  # edited since the proposals: nothing applied
                continue
            mine = {
                int(v[1:]) for v in accepted if isinstance(v, str) and v[:1] == prefix and v[1:].isdigit()
            }
            keep |= {
                _key(f) for i, f in enumerate(part.findings) if f"{prefix}{i}" in shown and i not in mine
            }
            texts[name] = redact(part, mine)
        again = await _draft(ctx, moderation, code, texts["question"], texts["answer"])
        assert again is not None
        return _page(
            ctx, pages, request, staff, again, _ticked(form), keep=keep, done="stale" if stale else "applied"
        )

    @allowed
    async def publish(request: Request, staff: Staff) -> Response:
        code = _code(ctx, request)
        if code is None:
            return _not_found(pages, request, staff)
        form = await request.form()
        question, answer = _posted(form, "question"), _posted(form, "answer")
        photos = _ticked(form)
        try:
            await ctx.run(moderation.publish, code, question, answer, photos, staff.email, ctx.clock())
            ctx.public.forget()  # the column, its feed and Open311 show it at once
        except NoSuchCase:
            return _not_found(pages, request, staff)
        except Refused as refused:
            log.info("publishing refused", case=code, by=staff.email, reason=refused.reason)
            draft = await _draft(ctx, moderation, code, question, answer)
            assert draft is not None
            keep = {str(v) for v in form.getlist("keep")}
            return _page(
                ctx, pages, request, staff, draft, photos, keep=keep, problem=refused.reason,
                left=refused.left, status=400,
            )  # fmt: skip
        lang = pages.language(request)
        return RedirectResponse(f"/staff/moderation/{code}?lang={lang}&done=published#done", status_code=303)

    @allowed
    async def withdraw(request: Request, staff: Staff) -> Response:
        code = _code(ctx, request)
        if code is None:
            return _not_found(pages, request, staff)
        form = await request.form()
        outcome = "done=withdrawn"
        try:
            await ctx.run(moderation.withdraw, code, staff.email, _text(form, "why"), ctx.clock())
            ctx.public.forget()
        except NoSuchCase:
            return _not_found(pages, request, staff)
        except Refused as refused:
            outcome = f"problem={refused.reason}"
        lang = pages.language(request)
        if _text(form, "back") == "list":
            return RedirectResponse(f"/staff/moderation?lang={lang}&{outcome}&code={code}", status_code=303)
        return RedirectResponse(f"/staff/moderation/{code}?lang={lang}&{outcome}", status_code=303)

    @allowed
    async def photo(request: Request, staff: Staff) -> Response:
        code = _code(ctx, request)
        found = await ctx.run(moderation.photo, code, request.path_params["id"]) if code else None
        if found is None:
            return _not_found(pages, request, staff)
        content_type, content = found
        headers = {"content-disposition": "inline", "x-content-type-options": "nosniff"}
        return Response(content, media_type=content_type, headers=headers)

    return [
        Route("/staff/moderation", listing, methods=["GET"]),
        Route("/staff/moderation/{code}", show, methods=["GET"]),
        Route("/staff/moderation/{code}/apply", apply, methods=["POST"]),
        Route("/staff/moderation/{code}/publish", publish, methods=["POST"]),
        Route("/staff/moderation/{code}/withdraw", withdraw, methods=["POST"]),
        Route("/staff/moderation/{code}/photos/{id:int}", photo, methods=["GET"]),
    ]


def _page(
    ctx: WebContext,
    pages: Pages,
    request: Request,
    staff: Staff,
    draft: Draft,
    ticked: set[int],
    *,
    keep: set[str] | None = None,
    done: str = "",
    problem: str = "",
    left: tuple[tuple[str, Finding], ...] = (),
    status: int = 200,
) -> Response:
    lang = pages.language(request)
    config = ctx.config()
    keep = keep or set()
    category = config.categories.get(draft.case.category) if draft.case.category else None
    return render(
        pages, request, "staff/moderation_case.html", staff, status,
        draft=draft, case=draft.case, ticked=ticked, keep=sorted(keep),
        checked=lambda f: _key(f) not in keep, done=done, problem=problem, left=left,
        question_sha=_fingerprint(draft.question.text), answer_sha=_fingerprint(draft.answer.text),
        office=office_name(config, draft.case.department, lang),
        topic=category.display_name(lang) if category is not None else "–",
        when=local_time(config.timezone), max_why=MAX_WHY, blocking=BLOCKING,
    )  # fmt: skip


async def _draft(
    ctx: WebContext,
    moderation: Moderation,
    code: str | None,
    question: str | None = None,
    answer: str | None = None,
) -> Draft | None:
    if code is None:
        return None
    try:
        return await ctx.run(moderation.draft, code, question, answer)
    except NoSuchCase:
        return None


def _code(ctx: WebContext, request: Request) -> str | None:
    return _code_of(ctx, request.path_params["code"])


def _code_of(ctx: WebContext, value: str | None) -> str | None:
    return normalise_code(value, ctx.prefix) if value else None


def _word(value: str | None, known: tuple[str, ...]) -> str:
    """*value* when it is one of *known* (a notice's key), else ""."""
    return value if value in known else ""


def _not_found(pages: Pages, request: Request, staff: Staff) -> Response:
    return error(pages, request, 404, "mod_notfound_title", "mod_notfound_text", staff)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _posted(form: FormData, name: str) -> str:
    """A textarea's text as the page holds it (a browser sends \\r\\n); bounded, so that a huge paste
    is still shown back and refused by its length, not carried whole through every round."""
    return normalise(_text(form, name))[: MAX_TEXT * 2]


def _ticked(form: FormData) -> set[int]:
    return {int(v) for v in form.getlist("photo") if isinstance(v, str) and v.isdigit() and len(v) < 19}


def _key(finding: Finding) -> str:
    """A proposal as the moderator judged it: its kind and words (an unticked one stays unticked)."""
    return f"{finding.kind}|{finding.text}"


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _number(value: str | None) -> int:
    return min(int(value), MAX_PAGE) if value and value.isdigit() and 0 < len(value) < 6 and int(value) else 1


def _pager(total: int, page: int) -> dict[str, int]:
    return {"total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE))}
