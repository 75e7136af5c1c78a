"""Shared database fixtures.

    db_url          a fresh, EMPTY database, once per backend: ids "sqlite" and "postgres" (use -k sqlite).
                    sqlite: a file in tmp_path. postgres: a new uniquely named database on
                    CADREBOT_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/), dropped afterwards.
                    PostgreSQL unreachable: the test is skipped, but FAILS when the environment has CI=true.
    engine          an Engine on db_url with the real Alembic migrations applied.
    session_factory sessionmaker bound to `engine` (expire_on_commit=False).
    session         one Session (rolled back and closed afterwards; call session.commit() to persist).
    sqlite_url      a fresh empty SQLite URL only (for CLI tests).
    db_settings     bot.settings.Settings pointing at db_url (data_dir = tmp_path).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER_URL = os.environ.get("CADREBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/").rstrip("/")
_pg_status: dict[str, str | None] = {}


def _pg_admin_dsn() -> str:
    from sqlalchemy.engine import make_url

    url = make_url(PG_SERVER_URL + "/postgres")
    parts = [f"host={url.host or '127.0.0.1'}", f"port={url.port or 5432}", f"user={url.username or 'postgres'}"]
    if url.password:
        parts.append(f"password={url.password}")
    parts.append("dbname=postgres")
    return " ".join(parts)


def _pg_connect():
    import psycopg

    return psycopg.connect(_pg_admin_dsn(), autocommit=True, connect_timeout=3)


def _pg_unreachable_reason() -> str | None:
    if "error" not in _pg_status:
        try:
            with _pg_connect() as conn:
                conn.execute("SELECT 1")
            _pg_status["error"] = None
        except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
            _pg_status["error"] = f"{type(error).__name__}: {error}".strip()
    return _pg_status["error"]


def require_postgres() -> None:
    """Skip (or fail under CI=true) when the PostgreSQL server is not reachable."""
    reason = _pg_unreachable_reason()
    if reason is None:
        return
    message = f"PostgreSQL not reachable at {PG_SERVER_URL}: {reason}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{message} (CI=true: PostgreSQL tests must run, not be skipped)", pytrace=False)
    pytest.skip(message)


def create_pg_database() -> str:
    """Create a fresh uniquely named database; returns its SQLAlchemy URL."""
    name = f"cadrebot_test_{uuid.uuid4().hex[:12]}"
    with _pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_SERVER_URL}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with _pg_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Dropping a database takes a few hundred ms: do it in the background while the next test runs;
# pytest_sessionfinish waits until every test database is gone.
_dropper: ThreadPoolExecutor | None = None


def _drop_later(url: str) -> None:
    global _dropper
    if _dropper is None:
        _dropper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pg-drop")
    _dropper.submit(drop_pg_database, url)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _dropper is not None:
        _dropper.shutdown(wait=True)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path) -> Iterator[str]:
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'cadrebot-test.db'}"
        return
    require_postgres()
    url = create_pg_database()
    try:
        yield url
    finally:
        _drop_later(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cadrebot-test.db'}"


@pytest.fixture
def engine(db_url: str):
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def session_factory(engine):
    from storage.db import make_session_factory

    return make_session_factory(engine)


@pytest.fixture
def session(session_factory):
    session = session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture
def db_settings(db_url: str, tmp_path: Path):
    from bot.settings import Settings

    return Settings(data_dir=tmp_path, database_url=db_url)
