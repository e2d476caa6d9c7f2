"""Rendering the resident's pages: the language of the request, the words in it (web/texts/*.toml),
Jinja2 templates with autoescaping everywhere, and the error pages (issue 17)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.web.context import WebContext

LANGUAGES = ("fi", "sv", "en")
HERE = Path(__file__).parent
ERROR_WORDS = {  # status → the words of its page (title, text)
    400: ("error_title", "error_text"),
    404: ("notfound_title", "notfound_text"),
    405: ("error_title", "error_text"),
    413: ("toolarge_title", "toolarge_text"),
    429: ("toomany_title", "toomany_text"),
    503: ("unavailable_title", "unavailable_text"),
}


def load_texts(folder: Path = HERE / "texts") -> dict[str, Mapping[str, str]]:
    """The words of each language: `<lang>.toml` and each page family's `<family>.<lang>.toml`; every
    language must have the keys of the Finnish one, and no family may reuse another's key."""
    texts: dict[str, Mapping[str, str]] = {}
    for lang in LANGUAGES:
        words: dict[str, str] = {}
        for path in [folder / f"{lang}.toml", *sorted(folder.glob(f"*.{lang}.toml"))]:
            part = tomllib.loads(path.read_text(encoding="utf-8"))
            if clash := set(part) & set(words):
                raise ValueError(f"{path} repeats the keys {', '.join(sorted(clash))}")
            words.update(part)
        texts[lang] = words
    for lang, found in texts.items():
        missing = set(texts["fi"]) - set(found)
        if missing:
            raise ValueError(f"{folder / lang}.toml lacks {', '.join(sorted(missing))}")
    return texts


def choose_language(query: str | None, accept_language: str | None) -> str:
    """`?lang=`, then the best of Accept-Language (RFC 9110 §12.5.4, by q), then Finnish."""
    if query in LANGUAGES:
        return query
    best, best_q = "fi", 0.0
    for item in (accept_language or "").split(","):
        tag, _, params = item.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def _with_lang(request: Request, lang: str) -> str:
    """This page's address in another language: its query kept (the answer page's link needs its MAC)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return f"{request.url.path}?{urlencode(query)}"


class Pages:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.texts = load_texts()
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,  # a misspelt name fails the test, not the resident's page
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # the templates ship with the code: no stat() of each file per page
        )

    def language(self, request: Request) -> str:
        return choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))

    def render(
        self,
        request: Request,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        lang: str | None = None,
        **values: Any,
    ) -> HTMLResponse:
        lang = lang if lang in LANGUAGES else self.language(request)
        html = self.env.get_template(template).render(
            lang=lang,
            t=self.texts[lang],
            languages=[
                (code, self.texts[code]["lang_name"], _with_lang(request, code)) for code in LANGUAGES
            ],
            path=request.url.path,
            **values,
        )
        response = HTMLResponse(html, status, headers=dict(headers or {}))
        response.headers.setdefault("cache-control", "no-store")  # codes and answers stay in no cache
        return response

    def error(
        self, request: Request, status: int, headers: Mapping[str, str] | None = None, lang: str | None = None
    ) -> HTMLResponse:
        title, text = ERROR_WORDS.get(status, ("error_title", "error_text"))
        return self.render(request, "error.html", status, headers, lang, title_key=title, text_key=text)
