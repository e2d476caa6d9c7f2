"""Helps for the query planners where their guesses are known to go wrong (bench/RESULTS.md, issue 17).

SQLite plans from the statistics `ANALYZE` leaves in `sqlite_stat1`; without them (a new database, or
one that grew since) it takes an equality on an indexed column to be selective. `withdrawn_at IS NULL`
is true of nearly every publication, so the Open311 listing was driven from all 100,000 publications and
sorted (390–940 ms) instead of walking the cases newest first (2–8 ms). SQLite's documented way to keep
a term off an index is a unary `+` before the column (https://sqlite.org/optoverview.html, "Disqualifying
WHERE clause terms using unary-+"); `unindexed` writes it on SQLite and the bare column elsewhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = ["unindexed"]


class _Unindexed(ColumnElement[Any]):
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012 - as SQLAlchemy

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


def unindexed(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """*column* in a WHERE term SQLite must not answer through an index."""
    return _Unindexed(column)


@compiles(_Unindexed)
def _plain(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(_Unindexed, "sqlite")
def _plus(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)
