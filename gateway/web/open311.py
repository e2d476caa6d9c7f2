"""(being written)"""

from __future__ import annotations

from starlette.routing import BaseRoute

from gateway.web.context import WebContext


def routes(ctx: WebContext) -> list[BaseRoute]:
    return []
