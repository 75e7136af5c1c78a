"""The shared database fixtures: PostgreSQL tests may be skipped locally, never under CI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT_CONFTEST = (Path(__file__).resolve().parent.parent / "conftest.py").resolve()


def _root_conftest(config):
    for module in [*config.pluginmanager.get_plugins(), *sys.modules.values()]:
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == ROOT_CONFTEST:
            return module
    raise AssertionError("tests/conftest.py is not loaded")


@pytest.fixture
def unreachable(monkeypatch, pytestconfig):
    conftest = _root_conftest(pytestconfig)
    monkeypatch.setattr(conftest, "_pg_status", {"error": "OperationalError: connection refused"})
    return conftest


def test_unreachable_postgres_skips_locally(unreachable, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL not reachable"):
        unreachable.require_postgres()


def test_unreachable_postgres_fails_under_ci(unreachable, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        unreachable.require_postgres()


def test_postgres_tests_get_a_fresh_database_of_their_own(db_url, db_kind):
    from sqlalchemy import inspect

    from storage.db import make_engine

    engine = make_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
        if db_kind == "postgres":
            assert db_url.rsplit("/", 1)[1].startswith("cadrebot_test_")
    finally:
        engine.dispose()


# The migrated PostgreSQL databases `engine` hands out are reused from test to test (creating one costs seconds).


@pytest.fixture
def migrated_postgres(pytestconfig):
    conftest = _root_conftest(pytestconfig)
    conftest.require_postgres()
    pool = conftest.MigratedPostgres()
    yield pool
    pool.close()


def _add_towns(url: str, *codes: str) -> list[int]:
    from storage.db import make_engine, make_session_factory
    from storage.places import add_town

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            towns = [add_town(s, code, f"{code}镇") for code in codes]
            s.commit()
            return [t.id for t in towns]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_reused_postgres_database_comes_back_empty_with_ids_from_one(migrated_postgres):
    url = migrated_postgres.take()
    assert _add_towns(url, "T1", "T2") == [1, 2]
    migrated_postgres.give_back(url)
    assert migrated_postgres.take() == url  # the same database, for the next test
    assert _add_towns(url, "T9") == [1]  # what the last test wrote is gone, and ids start again


@pytest.mark.postgres
def test_a_postgres_database_whose_schema_a_test_changed_is_replaced(migrated_postgres):
    import psycopg

    url = migrated_postgres.take()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("ALTER TABLE towns ADD COLUMN left_behind integer")
    migrated_postgres.give_back(url)
    fresh = migrated_postgres.take()
    assert fresh != url
    assert _add_towns(fresh, "T1") == [1]



def test_rows_copied_into_another_database_are_the_same_and_new_ids_follow_them(engine, db_kind, tmp_path,
                                                                                   pytestconfig):
    from storage.db import make_engine, make_session_factory
    from storage.places import add_town, add_village

    conftest = _root_conftest(pytestconfig)
    with make_session_factory(engine)() as s:
        add_town(s, "T1", "一镇")
        add_village(s, "V1", "一村", "T1")
        s.commit()
    url = f"sqlite:///{tmp_path / 'copy.db'}" if db_kind == "sqlite" else conftest.create_pg_database()
    conftest._migrate(url)
    target = make_engine(url)
    try:
        conftest.write_rows(target, conftest.table_rows(engine))
        assert conftest.table_rows(target) == conftest.table_rows(engine)
        with make_session_factory(target)() as s:
            assert add_town(s, "T2", "二镇").id == 2  # the copied town 1 is not handed out again
            s.commit()
    finally:
        target.dispose()
        if db_kind == "postgres":
            conftest.drop_pg_database(url)
