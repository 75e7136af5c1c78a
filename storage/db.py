"""Engine and session set-up for SQLite (default, one file in the data directory) and PostgreSQL (psycopg 3).

    engine = make_engine(settings.database_url)  # a URL: "sqlite:///data/cadrebot.db", "postgresql://..."
    sessions = make_session_factory(engine)
    with session_scope(sessions) as session:    # commits, or rolls back; DB down/locked -> DatabaseUnavailable
        ...

Production creates the schema with Alembic (`cadrebot db upgrade`, storage.migrate); `create_all` is for tests.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import DatabaseUnavailable
from storage.models import Base

# How long a write waits for another SQLite writer's lock: batch work (migrations, the CLI) can wait; a user in
# the chat gets "系统繁忙" (and the check is kept in the outbox) within about a second instead.
SQLITE_BUSY_TIMEOUT_MS = 5000
INTERACTIVE_BUSY_TIMEOUT_MS = 800
# The database, its journal and WAL files hold members' names and residents' answers: owner only.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700

# Errors that mean "the database is not usable right now", as opposed to a bug or a constraint violation.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,  # connection pool exhausted
)


def database_url(url: str | URL) -> str:
    """The normalised URL: `postgres://` and `postgresql://` go through psycopg 3."""
    url = url.render_as_string(hide_password=False) if isinstance(url, URL) else url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def redacted_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(database_url(url)).render_as_string(hide_password=True)


def make_engine(
    url: str | URL,
    *,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    **engine_kwargs: Any,
) -> Engine:
    """An Engine for the database at `url` (the deployer's DATABASE_URL).

    SQLite: WAL journal, foreign keys on, busy timeout (ms); a missing file is created 0600 (its directory 0700),
    and SQLite gives the -wal/-shm/-journal files the database file's mode.
    PostgreSQL: psycopg 3, no pool_pre_ping: the ping was a round trip before every transaction (11 % of a
    worker's time under load); after a server restart the first statement on a stale connection fails instead,
    SQLAlchemy drops the whole pool, and the caller's DatabaseUnavailable path (or the intake's retry) handles
    that one failure. `engine_kwargs` go to `create_engine` (e.g. pool_size).
    """
    url = make_url(database_url(url))
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            create_private_file(Path(url.database).expanduser())
        connect_args = dict(engine_kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", busy_timeout_ms / 1000)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **engine_kwargs)

        def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            finally:
                cursor.close()

        event.listen(engine, "connect", on_connect)
        return engine
    if url.get_backend_name() == "postgresql":
        engine_kwargs.setdefault("pool_size", 10)
        engine_kwargs.setdefault("max_overflow", 20)
        engine_kwargs.setdefault("pool_timeout", 10)
        connect_args = dict(engine_kwargs.pop("connect_args", {}))
        connect_args.setdefault("connect_timeout", 5)
        return create_engine(url, connect_args=connect_args, **engine_kwargs)
    return create_engine(url, **engine_kwargs)


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 (its missing directories 0700) unless it exists; an existing file keeps
    the mode its owner gave it."""
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.fchmod(fd, PRIVATE_FILE_MODE)  # whatever the umask
    os.close(fd)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (objects stay usable in handlers)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn "database down / locked / unreachable" errors into `DatabaseUnavailable`."""
    try:
        yield
    except UNAVAILABLE_ERRORS as error:
        raise DatabaseUnavailable(str(getattr(error, "orig", error) or error)) from error


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a transaction: commit on success, roll back on any error.

    Raises `DatabaseUnavailable` when the database is down or locked; domain errors pass through.
    """
    with translate_errors():
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            with contextlib.suppress(*UNAVAILABLE_ERRORS):
                session.rollback()
            raise
        finally:
            with contextlib.suppress(*UNAVAILABLE_ERRORS):
                session.close()


class Database:
    """Engine plus session factory, the one object a handler or job needs.

        db = Database(settings.database_url)
        with db.session() as session:
            ...
    """

    def __init__(self, url: str | URL, *, busy_timeout_ms: int = INTERACTIVE_BUSY_TIMEOUT_MS,
                 **engine_kwargs: Any) -> None:
        # Handlers and jobs answer someone who is waiting: a locked SQLite file fails fast (DatabaseUnavailable).
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, **engine_kwargs)
        self.sessions = make_session_factory(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> contextlib.AbstractContextManager[Session]:
        return session_scope(self.sessions)

    def dispose(self) -> None:
        self.engine.dispose()


def create_all(engine: Engine) -> None:
    """Create every table directly from the models. Tests only: production uses Alembic."""
    Base.metadata.create_all(engine)


def dialect_name(bind: Session | Engine) -> str:
    """'sqlite' or 'postgresql' for a session or engine."""
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


__all__ = [
    "Database",
    "create_all",
    "create_private_file",
    "database_url",
    "dialect_name",
    "make_engine",
    "make_session_factory",
    "redacted_url",
    "session_scope",
    "translate_errors",
]
