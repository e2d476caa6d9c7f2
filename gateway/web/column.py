"""The open feedback column (issue 18): `GET /open` lists the published cases with their public question
and answer, newest first, narrowed by topic, area, office and words, twenty to a page; `GET /open/{code}`
shows one; `GET /open/feed.atom` gives the newest fifty under the same query as an Atom feed (RFC 4287).
Public and read-only, working without JavaScript: every filter is a field of one GET form. Everything
shown comes from `gateway.store.column`, which reads the moderated texts and no personal data.

The feed is built with the standard library's ElementTree, as the Open311 XML answers are
(`web/errors.py`): its serialiser escapes text and attributes by construction for XML, where an HTML
template's autoescaping only happens to agree, and no new dependency is needed for forty lines."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET

import shapely
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.model.tracking_code import normalise
from gateway.rules import Config
from gateway.store.column import Entry, Filters, Listing, published, published_case, search_words
from gateway.web.context import WebContext
from gateway.web.pages import Pages

PAGE_SIZE = 20
FEED_SIZE = 50
MAX_PAGE = 5_000  # past every case a city of this size publishes; bounds the OFFSET a stranger can ask
EXCERPT = 300  # characters of the question and of the answer shown in the list
ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # not allowed in XML 1.0


@dataclass(frozen=True, slots=True)
class Query:
    """What a request asks of the column, as applied: a value the configuration does not know (a topic
    since removed, a mistyped address) is left out, and the form shows that it was."""

    q: str = ""
    topic: str = ""
    area: str = ""
    office: str = ""
    page: int = 1

    def params(self, page: int | None = None, lang: str | None = None) -> str:
        """The query string of these filters (and *page*, *lang*), empty values left out."""
        pairs = [("q", self.q), ("topic", self.topic), ("area", self.area), ("office", self.office)]
        if page is not None and page > 1:
            pairs.append(("page", str(page)))
        if lang is not None:
            pairs.append(("lang", lang))
        return urlencode([(k, v) for k, v in pairs if v])


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    async def listing(request: Request) -> Response:
        config = ctx.config()
        query = read_query(request, config)
        offset = (query.page - 1) * PAGE_SIZE
        found = await ctx.run(_read, ctx, _filters(query, config), offset, PAGE_SIZE, True)
        lang = pages.language(request)
        return pages.render(
            request, "column.html", lang=lang, **_list_view(pages, config, query, found, lang)
        )

    async def feed(request: Request) -> Response:
        config = ctx.config()
        query = read_query(request, config)
        found = await ctx.run(_read, ctx, _filters(query, config), 0, FEED_SIZE, False)
        body = atom_feed(ctx, pages, config, query, found.entries, pages.language(request))
        return Response(body, media_type=ATOM_TYPE, headers={"cache-control": "no-store"})

    async def case(request: Request) -> Response:
        code = normalise(request.path_params["code"], ctx.prefix)
        entry = await ctx.run(_read_case, ctx, code) if code else None
        if entry is None:  # unknown, unpublished and withdrawn alike
            return pages.error(request, 404)
        lang = pages.language(request)
        view = _entry_view(pages, ctx.config(), entry, lang, whole=True)
        return pages.render(request, "column_case.html", lang=lang, entry=view)

    kept = ctx.public.remembered
    return [
        Route("/open", kept(listing, pages.language), methods=["GET"]),
        # before /open/{code}, which would take it
        Route("/open/feed.atom", kept(feed, pages.language), methods=["GET"]),
        Route("/open/{code}", kept(case, pages.language), methods=["GET"]),
    ]


def read_query(request: Request, config: Config) -> Query:
    params = request.query_params
    topic, area, office = params.get("topic", ""), params.get("area", ""), params.get("office", "")
    try:
        page = min(max(int(params.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        page = 1
    return Query(
        q=" ".join(params.get("q", "").split())[:200],
        topic=topic if topic in config.categories else "",
        area=area if area in config.areas else "",
        office=office if office in config.departments else "",
        page=page,
    )


def _filters(query: Query, config: Config) -> Filters:
    area = config.areas.get(query.area) if query.area else None

    def inside(lats: Any, lons: Any) -> Any:
        assert area is not None
        return shapely.intersects_xy(area.geometry, lons, lats).tolist()  # one call for every row

    return Filters(
        category=query.topic or None,
        department=query.office or None,
        words=search_words(query.q),
        box=area.bounds if area is not None else None,
        inside=inside if area is not None else None,
    )


def _read(ctx: WebContext, filters: Filters, offset: int, limit: int, count: bool) -> Listing:
    with ctx.db.read() as conn:
        return published(conn, filters, offset, limit, count=count)


def _read_case(ctx: WebContext, code: str) -> Entry | None:
    with ctx.db.read() as conn:
        return published_case(conn, code)


# -- the pages ------------------------------------------------------------------------------------------


def _list_view(pages: Pages, config: Config, query: Query, found: Listing, lang: str) -> dict[str, Any]:
    words = pages.texts[lang]
    last = max(1, -(-found.total // PAGE_SIZE))

    def href(page: int) -> str:
        return f"/open?{query.params(page, lang)}"

    shown = {1, last, *range(max(1, query.page - 2), min(last, query.page + 2) + 1)}
    shown |= {n + 1 for n in shown if n + 2 in shown}  # a gap of one page shows that page instead
    pager: list[dict[str, Any]] = []
    for number in sorted(shown):
        if pager and number > pager[-1]["number"] + 1:
            pager.append({"number": number - 1, "gap": True})
        pager.append({"number": number, "gap": False, "href": href(number), "current": number == query.page})
    return {
        "query": query,
        "entries": [_entry_view(pages, config, e, lang) for e in found.entries],
        "count": _count(words, found.total, lang),
        "filtered": any((query.q, query.topic, query.area, query.office)),
        "topics": _sorted((k, c.display_name(lang)) for k, c in config.categories.items()),
        "areas": _sorted((k, a.title.get(lang) or a.title.get("fi") or k) for k, a in config.areas.items()),
        "offices": _sorted((k, d.display_name(lang)) for k, d in config.departments.items()),
        "pager": pager if last > 1 else [],
        "prev": href(min(query.page - 1, last)) if query.page > 1 else "",
        "next": href(query.page + 1) if query.page < last else "",
        "page_title": words["open_title"]
        + (f" – {words['open_page']} {query.page}" if query.page > 1 else ""),
        "feed": f"/open/feed.atom?{query.params(lang=lang)}",
    }


def _entry_view(pages: Pages, config: Config, entry: Entry, lang: str, whole: bool = False) -> dict[str, Any]:
    category = config.categories.get(entry.category) if entry.category else None
    department = config.departments.get(entry.department) if entry.department else None
    local = entry.published_at.astimezone(config.timezone)
    question, answer = entry.question, entry.answer
    title = title_of(question)
    cut = title != " ".join(question.split())  # else the heading is the whole question
    return {
        "code": entry.code,
        "href": f"/open/{quote(entry.code)}?lang={lang}",
        "title": title or entry.code,
        "lang": entry.language,
        "question": _paragraphs(question if whole else _excerpt(question)) if cut else [],
        "answer": _paragraphs(answer if whole else _excerpt(answer)),
        "topic": category.display_name(lang) if category is not None else "",
        "office": department.display_name(lang) if department is not None else "",
        "date": f"{local.day}.{local.month}.{local.year}",  # 4.12.2026 reads well in all three
        "iso": local.date().isoformat(),
        "photos": [f"/open/{quote(entry.code)}/photos/{i}" for i in entry.photos],
    }


def _count(words: Mapping[str, str], total: int, lang: str) -> str:
    number = f"{total:,}".replace(",", "\u00a0" if lang in ("fi", "sv") else ",")
    key = "open_count_none" if total == 0 else "open_count_one" if total == 1 else "open_count_many"
    return words[key].replace("{n}", number)


def _sorted(items: Any) -> list[tuple[str, str]]:
    return sorted(items, key=lambda item: item[1].casefold())


def title_of(text: str, words: int = 10, chars: int = 90) -> str:
    """The first words of *text*, for a heading and a feed entry's title: at most *words* words and
    about *chars* characters, with an ellipsis when cut."""
    found = text.split()
    title = ""
    for word in found[:words]:
        if title and len(title) + 1 + len(word) > chars:
            break
        title = f"{title} {word}" if title else word[:chars]
    return title + ("…" if len(title) < len(" ".join(found)) else "")


def _excerpt(text: str) -> str:
    if len(text) <= EXCERPT:
        return text
    cut = text[:EXCERPT].rsplit(maxsplit=1)[0] if " " in text[:EXCERPT] else text[:EXCERPT]
    return cut.rstrip(" ,.;:") + "…"


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


# -- the feed -------------------------------------------------------------------------------------------


def atom_feed(
    ctx: WebContext, pages: Pages, config: Config, query: Query, entries: tuple[Entry, ...], lang: str
) -> bytes:
    """The Atom document of *entries* (newest first): text content, escaped by the serialiser."""
    words = pages.texts[lang]
    base = ctx.settings.web_url
    filters = query.params()
    newest = entries[0].published_at if entries else ctx.clock()
    root = ET.Element("feed", {"xmlns": ATOM, XML_LANG: lang})
    _text(root, "id", f"{base}/open/feed.atom" + (f"?{filters}" if filters else ""))
    _text(root, "title", f"{words['open_title']} – {words['site_name']}")
    _text(root, "updated", _stamp(newest))
    self_href = f"{base}/open/feed.atom?{query.params(lang=lang)}"
    ET.SubElement(root, "link", {"rel": "self", "type": "application/atom+xml", "href": self_href})
    page_href = f"{base}/open?{query.params(lang=lang)}"
    ET.SubElement(root, "link", {"rel": "alternate", "type": "text/html", "href": page_href})
    _text(ET.SubElement(root, "author"), "name", words["site_name"])
    for entry in entries:
        item = ET.SubElement(root, "entry")
        _text(item, "id", f"{base}/open/{quote(entry.code)}")
        _text(item, "title", title_of(entry.question) or entry.code).set(XML_LANG, entry.language)
        _text(item, "updated", _stamp(entry.published_at))
        _text(item, "published", _stamp(entry.published_at))
        href = f"{base}/open/{quote(entry.code)}?lang={lang}"
        ET.SubElement(item, "link", {"rel": "alternate", "type": "text/html", "href": href})
        category = config.categories.get(entry.category) if entry.category else None
        if category is not None:
            ET.SubElement(item, "category", {"term": category.key, "label": category.display_name(lang)})
        content = f"{entry.question}\n\n{words['open_answer']}:\n{entry.answer}"
        _text(item, "content", content).set("type", "text")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = _NOT_XML.sub("", value)
    return element


def _stamp(at: datetime) -> str:
    """RFC 3339 in UTC, as Atom's dates are (RFC 4287 §3.3)."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
