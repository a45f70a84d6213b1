"""Alembic environment: runs against the URL the service (or `alembic -x url=...`) provides."""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import engine_from_config, pool

from server.models import Base, StoredEnum

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: Any, _context: AutogenContext) -> Any:
    """An enum column is a plain VARCHAR in the database: new migrations say so (and import nothing of ours)."""
    if kind == "type" and isinstance(obj, StoredEnum):
        return f"sa.String(length={obj.length})"
    return False


def run() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(
            url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True, render_item=render_item
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, render_item=render_item
        )
        with context.begin_transaction():
            context.run_migrations()


run()
