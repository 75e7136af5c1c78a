"""Alembic, configured programmatically: works from any directory, with or without alembic.ini.

    upgrade(url)                 # cadrebot db upgrade (a URL or an Engine)
    current_revision(engine)     # None on an empty database
    head_revision()
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from storage.db import database_url, make_engine

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
INI_PATH = PACKAGE_DIR / "alembic.ini"


def alembic_config(url: str | URL | None = None, *, connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at storage/migrations, with the URL (or an open connection) attached.

    Neither (reading the scripts only, e.g. head_revision): no database is touched."""
    config = Config(str(INI_PATH)) if INI_PATH.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    elif url is not None:
        # Passed as an attribute, not an ini option, so '%' in passwords needs no escaping.
        config.attributes["url"] = database_url(url)
    return config


def upgrade(target: str | URL | Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (default: head). `target` is a URL or an Engine."""
    if isinstance(target, Engine):
        with target.begin() as connection:
            command.upgrade(alembic_config(connection=connection), revision)
        return
    command.upgrade(alembic_config(target), revision)


def downgrade(target: str | URL | Engine, revision: str = "base") -> None:
    if isinstance(target, Engine):
        with target.begin() as connection:
            command.downgrade(alembic_config(connection=connection), revision)
        return
    command.downgrade(alembic_config(target), revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(target: str | URL | Engine) -> str | None:
    """The database's revision; None if it was never migrated."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if engine is not target:
            engine.dispose()


def is_up_to_date(target: str | URL | Engine) -> bool:
    return current_revision(target) == head_revision()


__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "is_up_to_date", "upgrade"]
