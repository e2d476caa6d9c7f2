"""Alembic environment: runs on the connection that gateway.store.migrate hands over."""

from __future__ import annotations

from alembic import context

from gateway.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table (docs/findings.md)
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
