"""Alembic, configured programmatically: works from any directory, with or without alembic.ini.

    upgrade(settings)            # cadrebot db upgrade
    current_revision(engine)     # None on an empty database
    head_revision()
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from storage.db import database_url, make_engine

if TYPE_CHECKING:
    from bot.settings import Settings

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
INI_PATH = PACKAGE_DIR / "alembic.ini"


def alembic_config(
    settings_or_url: Settings | str | URL | None = None, *, connection: Connection | None = None
) -> Config:
    """An Alembic Config pointing at storage/migrations, with the URL (or an open connection) attached."""
    config = Config(str(INI_PATH)) if INI_PATH.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    else:
        # Passed as an attribute, not an ini option, so '%' in passwords needs no escaping.
        config.attributes["url"] = database_url(settings_or_url)
    return config


def upgrade(target: Settings | str | URL | Engine | None = None, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (default: head). `target` is Settings, a URL or an Engine."""
    if isinstance(target, Engine):
        with target.begin() as connection:
            command.upgrade(alembic_config(connection=connection), revision)
        return
    command.upgrade(alembic_config(target), revision)


def downgrade(target: Settings | str | URL | Engine | None = None, revision: str = "base") -> None:
    if isinstance(target, Engine):
        with target.begin() as connection:
            command.downgrade(alembic_config(connection=connection), revision)
        return
    command.downgrade(alembic_config(target), revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(""))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(target: Settings | str | URL | Engine | None = None) -> str | None:
    """The database's revision; None if it was never migrated."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if engine is not target:
            engine.dispose()


def is_up_to_date(target: Settings | str | URL | Engine | None = None) -> bool:
    return current_revision(target) == head_revision()


__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "is_up_to_date", "upgrade"]
