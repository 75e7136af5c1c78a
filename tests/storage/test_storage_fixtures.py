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
