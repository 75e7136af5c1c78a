"""Dialect helpers shared by the services (internal)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert_insert(session: Session, table: Any) -> Any:
    """`INSERT` that supports `.on_conflict_do_nothing()` / `.on_conflict_do_update()` on SQLite and PostgreSQL."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database: {name}")


def affected_rows(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. Executing one returns a CursorResult, which counts them; the type
    Session.execute declares is the general Result, which does not."""
    return cast(CursorResult[Any], result).rowcount or 0
