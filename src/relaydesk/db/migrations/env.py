"""Alembic environment: the URL comes from the caller (relaydesk db upgrade), never from a file."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
url: str = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url") or ""


def _target_metadata() -> Any:
    # Only autogenerate needs the models; upgrades run the migration files alone.
    if config.attributes.get("autogenerate"):
        from relaydesk.models import Base

        return Base.metadata
    return None


def run_migrations() -> None:
    connectable = config.attributes.get("connection") or create_engine(url, poolclass=pool.NullPool)
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=_target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
