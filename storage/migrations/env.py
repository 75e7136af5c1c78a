"""Alembic environment of cadrebot.

The URL comes, in this order, from: a connection passed in `config.attributes["connection"]`,
`config.attributes["url"]` (storage.migrate), the `sqlalchemy.url` option, or `-x url=...` on the alembic
command line. There is no fallback to the environment: storage is handed its URL, it never looks for one.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from storage.db import database_url, make_engine
from storage.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Migrations stay frozen: render our TypeDecorator as the plain type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
        render_item=_render_item,
        **kwargs,
    )


def _url() -> str:
    url = (config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
           or context.get_x_argument(as_dictionary=True).get("url"))
    if not url:
        raise SystemExit("No database URL: use `cadrebot db upgrade`, or pass one to alembic: "
                         "alembic -c storage/alembic.ini -x url=sqlite:///data/cadrebot.db …")
    return database_url(url)


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
