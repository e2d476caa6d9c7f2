"""The staff console under /staff/ (issue 18): every console page family's routes, listed here and
registered in the app by one line. Each console page stands behind `session.require_staff`; a test walks
every route of the app and proves that none under /staff/ but the login page answers without a session."""

from __future__ import annotations

from starlette.routing import BaseRoute

from gateway.web.context import WebContext
from gateway.web.pages import Pages
from gateway.web.staff import auth, cases, entry, moderation


def routes(ctx: WebContext, pages: Pages) -> list[BaseRoute]:
    return [
        *auth.routes(ctx, pages),
        *entry.routes(ctx, pages),
        *cases.routes(ctx, pages),
        *moderation.routes(ctx, pages),
    ]
