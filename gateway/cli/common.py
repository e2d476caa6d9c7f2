"""What the commands share: opening the database for one command, and reading a tracking code."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from gateway.model.tracking_code import normalise
from gateway.settings import Settings
from gateway.store.db import Database, make_engine


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Database]:
    """The settings' database, disposed of when the command is done."""
    db = Database(make_engine(settings.database_url))
    try:
        yield db
    finally:
        db.dispose()


def read_code(settings: Settings, text: str) -> str | None:
    """*text* as a tracking code (any case, with or without dashes), or None after saying why."""
    code = normalise(text, settings.code_prefix)
    if code is None:
        print(f"gateway: {text!r} is not a tracking code ({settings.code_prefix}-XXXX-XXXX)", file=sys.stderr)
    return code
