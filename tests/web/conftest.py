"""The web tests run on SQLite; a module whose queries differ by database (full-text search, Open311's
listing, the console's queues) says `BOTH_DATABASES = True` and runs on PostgreSQL too. What the HTTP
layer does — validation, headers, CSRF, sessions, pages — is the same on both, and running it twice cost
minutes of the suite's ten (the store's own tests run everything on both)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        module = getattr(item, "module", None)
        on_postgres = "[postgresql" in item.nodeid or "-postgresql" in item.nodeid
        web = "tests/web/" in item.nodeid
        if web and on_postgres and not getattr(module, "BOTH_DATABASES", False):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
