"""Shared database fixtures.

    db_url          a fresh database, once per backend: ids "sqlite" and "postgres" (use -k sqlite). EMPTY, unless
                    the test also uses `engine`: then it is already migrated (see there).
                    sqlite: a file in tmp_path. postgres: a uniquely named database on
                    CADREBOT_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/), dropped afterwards.
                    PostgreSQL unreachable: the test is skipped, but FAILS when the environment has CI=true.
    engine          an Engine on db_url with the real Alembic migrations applied. They run once per test process
                    and backend; each test gets a copy of the result (sqlite: the migrated file copied;
                    postgres: a migrated database of this process, emptied after each test and checked to
                    have the migrated schema still, else replaced), as creating and migrating a PostgreSQL
                    database costs about two seconds a test.
    session_factory sessionmaker bound to `engine` (expire_on_commit=False).
    session         one Session (rolled back and closed afterwards; call session.commit() to persist).
    sqlite_url      a fresh empty SQLite URL only (for CLI tests).
    db_settings     bot.settings.Settings pointing at db_url (data_dir = tmp_path).

Under pytest-xdist each worker is its own process with its own template file and databases (names are random),
so parallel workers never share a database.
"""

from __future__ import annotations

import os
import shutil
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


def _migrate(url: str) -> None:
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


# What a migrated database's schema is made of: compared before a database is handed to the next test, so a
# test that altered the schema (or downgraded it) never leaks into another.
_SCHEMA_FINGERPRINT = """
SELECT md5(coalesce(string_agg(part, E'\\n' ORDER BY part), '')) FROM (
    SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' '
           || coalesce(column_default, '') AS part
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 'version ' || version_num FROM alembic_version
) parts
"""


class MigratedPostgres:
    """This process's migrated PostgreSQL databases. A test takes one; afterwards it is emptied (every row
    deleted and every sequence back at its start, as fresh from the migrations, which add no rows) and kept for
    the next test, or dropped when it cannot be emptied or its schema is no longer the migrated one."""

    def __init__(self) -> None:
        self.free: list[str] = []
        self.taken: set[str] = set()
        self.fingerprint: str | None = None

    def take(self) -> str:
        url = self.free.pop() if self.free else self._create()
        self.taken.add(url)
        return url

    def give_back(self, url: str) -> None:
        self.taken.discard(url)
        try:
            emptied = self._empty(url)
        except Exception:  # noqa: BLE001 - a database that cannot be emptied is replaced, never reused
            emptied = False
        if emptied:
            self.free.append(url)
        else:
            _drop_later(url)

    def close(self) -> None:
        for url in self.free + sorted(self.taken):
            _drop_later(url)
        self.free, self.taken = [], set()

    def _create(self) -> str:
        url = create_pg_database()
        _migrate(url)
        if self.fingerprint is None:
            with self._connect(url) as conn:
                self.fingerprint = conn.execute(_SCHEMA_FINGERPRINT).fetchone()[0]
        return url

    def _empty(self, url: str) -> bool:
        with self._connect(url) as conn:
            if conn.execute(_SCHEMA_FINGERPRINT).fetchone()[0] != self.fingerprint:
                return False
            tables = [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '5s'")  # a connection the test left in a transaction
                # DELETE, not TRUNCATE: on a few rows it is 2 ms, not 70. Foreign keys are not checked while
                # everything goes (the test server's user is a superuser; if not, the database is replaced).
                conn.execute("SET LOCAL session_replication_role = replica")
                for table in tables:
                    conn.execute(f'DELETE FROM "{table}"')
                conn.execute("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
                             " FROM pg_sequences WHERE schemaname = 'public'")
        return True

    @staticmethod
    def _connect(url: str):
        import psycopg

        name = url.rsplit("/", 1)[1]
        return psycopg.connect(_pg_admin_dsn().replace("dbname=postgres", f"dbname={name}"), autocommit=True,
                               connect_timeout=3)


_migrated_postgres = MigratedPostgres()
_migrated_urls: set[str] = set()  # URLs db_url handed out already migrated: `engine` does not migrate them again


def table_rows(engine) -> dict[str, list[dict]]:
    """Every row of every table of the models, as Python values: a database's content, to write into another
    (a fixture builds its world through the services once per process, then copies it into each test's database)."""
    from sqlalchemy import select

    from storage.models import Base

    with engine.connect() as conn:
        return {table.name: [dict(row._mapping) for row in conn.execute(select(table))]
                for table in Base.metadata.sorted_tables}


# PostgreSQL: each sequence that feeds a column, and that column (the ids `table_rows` copied are taken).
_OWNED_SEQUENCES = """
SELECT seq.relname, tab.relname, col.attname
  FROM pg_class seq
  JOIN pg_depend dep ON dep.objid = seq.oid AND dep.deptype IN ('a', 'i')
  JOIN pg_class tab ON tab.oid = dep.refobjid
  JOIN pg_attribute col ON col.attrelid = tab.oid AND col.attnum = dep.refobjsubid
 WHERE seq.relkind = 'S' AND seq.relnamespace = 'public'::regnamespace
"""


def write_rows(engine, rows: dict[str, list[dict]]) -> None:
    """Write `table_rows` of another database into this empty migrated one, ids and all; afterwards new rows get
    the next ids, as in the database they came from."""
    from sqlalchemy import text

    from storage.models import Base

    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:  # parents first
            if rows.get(table.name):
                conn.execute(table.insert(), rows[table.name])
        if conn.dialect.name == "postgresql":
            for sequence, table, column in conn.execute(text(_OWNED_SEQUENCES)).all():
                conn.execute(text(f'SELECT setval(\'"{sequence}"\', coalesce(max("{column}"), 0) + 1, false)'
                                  f' FROM "{table}"'))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests first (real processes, the emulator): the workers then share out the short ones, instead of
    one worker starting a 30-second test when the others are nearly done."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("long") or item.get_closest_marker("e2e") else 1)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _migrated_postgres.close()
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


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the real migrations applied, once per test process; copied for each test."""
    import sqlite3

    path = tmp_path_factory.mktemp("migrated") / "template.db"
    _migrate(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # everything into the main file, so copying that one file is enough
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    migrated = "engine" in request.fixturenames
    if db_kind == "sqlite":
        path = tmp_path / "cadrebot-test.db"
        url = f"sqlite:///{path}"
        if migrated:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
            _migrated_urls.add(url)
        try:
            yield url
        finally:
            _migrated_urls.discard(url)
        return
    require_postgres()
    if not migrated:
        url = create_pg_database()
        try:
            yield url
        finally:
            _drop_later(url)
        return
    url = _migrated_postgres.take()
    _migrated_urls.add(url)
    try:
        yield url
    finally:
        _migrated_urls.discard(url)
        _migrated_postgres.give_back(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cadrebot-test.db'}"


@pytest.fixture
def engine(db_url: str):
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(db_url)
    if db_url not in _migrated_urls:  # asked for by name (getfixturevalue): db_url could not know
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
