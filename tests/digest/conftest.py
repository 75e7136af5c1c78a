"""Fixtures for the digest tests, on a fresh database per backend (SQLite and PostgreSQL, see tests/conftest.py).

    digest_world    two towns, six villages, members, checks, red cards and survey responses around 2026-W47
    empty_world     the same places and members, nothing else
    shared_world    a populated database per backend built once per test session, for read-only tests
    ro_session      a session on shared_world (rolled back afterwards)
    pii_report      lines of the personal-information scores, printed at the end of the run
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.digest.world import DigestWorld, add_members, add_places, populate

_PII_REPORT = pytest.StashKey[list[str]]()


@pytest.fixture
def pii_report(request: pytest.FixtureRequest) -> list[str]:
    """Append a line per test file of writers' comments: recall per kind and words kept (shown after the run)."""
    return request.config.stash.setdefault(_PII_REPORT, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    lines = config.stash.get(_PII_REPORT, [])
    if lines:
        terminalreporter.section("personal information removed from residents' comments")
        for line in lines:
            terminalreporter.write_line(line)


# Each world is written through the storage services once per test process and backend (a second or two on
# PostgreSQL), then copied row for row, ids and all, into each test's own fresh database.
_built_worlds: dict[tuple[str, bool], tuple[DigestWorld, dict[str, list[dict]]]] = {}


def _world(engine, session_factory, populated: bool) -> DigestWorld:
    from storage.models import Member
    from tests.conftest import table_rows, write_rows

    key = (engine.dialect.name, populated)
    if key not in _built_worlds:
        with session_factory() as s:
            towns, villages = add_places(s)
            members = add_members(s)
            if populated:
                populate(s, villages, members)
            s.commit()
        world = DigestWorld(towns=towns, villages=villages, members=members)
        _built_worlds[key] = (world, table_rows(engine))
        return world
    built, rows = _built_worlds[key]
    write_rows(engine, rows)
    with session_factory() as s:  # members of this test's own, not the objects another test was handed
        members = {name: s.get(Member, member.id) for name, member in built.members.items()}
    return DigestWorld(towns=dict(built.towns), villages=dict(built.villages), members=members)


@pytest.fixture
def digest_world(engine, session_factory) -> DigestWorld:
    return _world(engine, session_factory, populated=True)


@pytest.fixture
def empty_world(engine, session_factory) -> DigestWorld:
    """Places and members only: every week is empty."""
    return _world(engine, session_factory, populated=False)


@dataclass
class SharedWorld:
    """A populated database shared by the read-only tests of one backend (built once per test session)."""

    kind: str
    url: str
    world: DigestWorld
    session_factory: Any


@pytest.fixture(
    scope="session",
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)],
)
def shared_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedWorld]:
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade
    from tests.conftest import create_pg_database, drop_pg_database, require_postgres

    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('digest') / 'shared.db'}"
    else:
        require_postgres()
        url = create_pg_database()
    engine = make_engine(url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        with factory() as s:
            towns, villages = add_places(s)
            members = add_members(s)
            populate(s, villages, members)
            s.commit()
        yield SharedWorld(kind, url, DigestWorld(towns=towns, villages=villages, members=members), factory)
    finally:
        engine.dispose()
        if kind == "postgres":
            drop_pg_database(url)


@pytest.fixture
def ro_session(shared_world: SharedWorld) -> Iterator[Any]:
    """A session on the shared world; whatever a test does in it is rolled back."""
    session = shared_world.session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
