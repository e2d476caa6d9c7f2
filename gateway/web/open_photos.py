"""The photos of the open column (issue 18): `GET /open/{code}/photos/{attachment_id}` serves a photo only
while its case stands published and the moderator ticked it, and only when its stored bytes carry no
metadata (checked again at every request: `casework/photo_metadata.py`). Anything else — an unknown
code, an unpublished or withdrawn case, another case's attachment, a photo not ticked — is the same 404.

`no-cache` with an ETag: a browser may keep the photo but asks again each time, so that a withdrawal
takes it away at once (a 304 costs a look-up, not the bytes)."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.casework.moderation import Moderation
from gateway.model.tracking_code import normalise
from gateway.web.context import WebContext
from gateway.web.pages import Pages


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    moderation = Moderation(ctx.db)

    async def photo(request: Request) -> Response:
        code = normalise(request.path_params["code"], ctx.prefix)
        number: int = request.path_params["attachment_id"]
        found = await ctx.run(moderation.public_photo, code, number) if code else None
        if found is None:
            return pages.error(request, 404)
        content_type, content = found
        etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
        headers = {
            "cache-control": "no-cache",
            "etag": etag,
            "content-disposition": f'inline; filename="{code}-{number}.{content_type.split("/")[1]}"',
        }
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(content, media_type=content_type, headers=headers)

    return [Route("/open/{code}/photos/{attachment_id:int}", photo, methods=["GET"])]
