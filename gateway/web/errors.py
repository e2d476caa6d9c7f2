"""Error answers in the shape each part of the web front promises: JSON `{"error", "detail"}` for the
webhook API, the GeoReport v2 error list for Open311 (JSON or XML, by the address's extension), and a page
in the resident's language for everything else (issue 17)."""

from __future__ import annotations

import json
from html import escape
from xml.etree import ElementTree as ET

from starlette.responses import HTMLResponse, Response

JSON_TYPE = "application/json; charset=utf-8"  # exactly: Open311 clients compare the header
XML_TYPE = "text/xml; charset=utf-8"


def api_error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": error, "detail": detail}, ensure_ascii=False)
    return Response(body, status, headers=headers, media_type=JSON_TYPE)


def open311_error(
    status: int, description: str, xml: bool, headers: dict[str, str] | None = None
) -> Response:
    """GeoReport v2's error body: a list of `{code, description}` (the code is the HTTP status)."""
    if xml:
        root = ET.Element("errors")
        error = ET.SubElement(root, "error")
        ET.SubElement(error, "code").text = str(status)
        ET.SubElement(error, "description").text = description
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(
            root, encoding="utf-8", xml_declaration=False
        )
        return Response(body, status, headers=headers, media_type=XML_TYPE)
    body_json = json.dumps([{"code": status, "description": description}], ensure_ascii=False)
    return Response(body_json, status, headers=headers, media_type=JSON_TYPE)


def plain_page(status: int, title: str, text: str) -> Response:
    """A bare page for the rare answer made before a request reaches the pages (413 by Content-Length)."""
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<link rel="stylesheet" href="/static/style.css"></head><body>'
        f'<main id="main"><h1>{escape(title)}</h1>'
        f"<p>{escape(text)}</p></main></body></html>"
    )
    return HTMLResponse(body, status)


def for_path(
    path: str, status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """The error answer a client of *path* understands."""
    if path.startswith("/api/"):
        return api_error(status, error, detail, headers)
    if path.startswith("/open311/"):
        return open311_error(status, detail, path.endswith(".xml"), headers)
    return plain_page(status, error.replace("-", " ").capitalize(), detail)
