"""The Alembic migrations build the schema on an empty database of both kinds, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.models import Base


def test_upgrade_on_an_empty_database_creates_every_table(db_url):
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert inspect(engine).get_table_names() == []
        upgrade(db_url)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert "alembic_version" in tables
        upgrade(db_url)  # running it again is harmless
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_models_match_the_migrated_schema(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ (write a migration): {diff}"


def test_indexes_the_digest_needs_exist(engine):
    inspector = inspect(engine)

    def indexed(table: str) -> set[tuple[str, ...]]:
        return {tuple(ix["column_names"]) for ix in inspector.get_indexes(table)}

    assert ("created_at",) in indexed("check_log")
    assert ("village_id", "created_at") in indexed("check_log")
    assert ("created_at",) in indexed("red_cards")
    assert ("village_id", "period_id") in indexed("survey_responses")
    assert ("period_id", "village_id", "aspect_code", "score") in indexed("survey_answers")


def test_downgrade_to_base_and_up_again(db_url):
    upgrade(db_url)
    downgrade(db_url, "base")
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        engine.dispose()


def test_postgres_urls_go_through_psycopg3():
    from storage.db import database_url

    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_migrations_run_from_any_working_directory(tmp_path, monkeypatch, sqlite_url):
    monkeypatch.chdir(tmp_path)
    upgrade(sqlite_url)
    assert current_revision(sqlite_url) == head_revision()
