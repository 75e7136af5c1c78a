"""Migration 0002_pending_steps: surveys in progress move from survey_drafts into pending_actions (and back on
downgrade), so nobody's half-finished survey is lost by the upgrade. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, text

from storage import surveys as S
from storage.db import make_engine, make_session_factory
from storage.migrate import downgrade, upgrade

OWNER = "a" * 64
RESPONDENT = "b" * 64
TOUCHED = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def _seed_a_draft_at_0001(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO towns (id, code, name) VALUES (1, 'T1', '示范镇')"))
        conn.execute(text("INSERT INTO villages (id, code, name, town_id) VALUES (7, 'V1', '东湖村', 1)"))
        conn.execute(text("INSERT INTO survey_periods (id, code, starts_on, ends_on) "
                          "VALUES (3, '2026-11', '2026-11-01', '2026-11-30')"))
        conn.execute(
            text("INSERT INTO survey_drafts (respondent_key, owner_key, village_id, period_id, stage, step, answers, "
                 "comment, replace_existing, updated_at) VALUES (:rk, :ok, 7, 3, 'comment', 8, :answers, '路灯', "
                 ":replacing, :at)"),
            {"rk": RESPONDENT, "ok": OWNER, "answers": json.dumps({"service": 5, "culture": None}),
             "replacing": True, "at": TOUCHED if engine.dialect.name != "sqlite" else TOUCHED.replace(tzinfo=None)},
        )


def test_drafts_move_into_pending_steps_and_back(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0001")
        _seed_a_draft_at_0001(engine)

        upgrade(engine, "0002_pending_steps")
        assert "survey_drafts" not in inspect(engine).get_table_names()
        with make_session_factory(engine)() as session:
            draft = S.load_draft(session, owner_key=OWNER, now=TOUCHED + timedelta(days=1))
            assert draft == S.SurveyDraft(respondent_key=RESPONDENT, owner_key=OWNER, village_id=7, period_id=3,
                                          stage="comment", step=8, answers={"service": 5, "culture": None},
                                          comment="路灯", replace_existing=True)
            # kept as long as before: a week after it was last touched
            assert S.load_draft(session, owner_key=OWNER, now=TOUCHED + timedelta(days=6, hours=23)) is not None
            assert S.load_draft(session, owner_key=OWNER, now=TOUCHED + timedelta(days=7, minutes=1)) is None
        with engine.connect() as conn:
            row = conn.execute(text("SELECT member_id, chat_id, kind FROM pending_actions")).one()
            assert tuple(row) == (None, None, S.DRAFT_KIND), "no member and no chat beside a resident's answers"

        downgrade(engine, "0001")
        assert "owner_key" not in {c["name"] for c in inspect(engine).get_columns("pending_actions")}
        if engine.dialect.name == "sqlite":  # the rebuilt table still never reuses an id (stale buttons)
            with engine.connect() as conn:
                ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'pending_actions'")).scalar()
            assert "AUTOINCREMENT" in ddl
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM survey_drafts")).mappings().all()
            assert conn.execute(text("SELECT count(*) FROM pending_actions")).scalar() == 0
        [back] = rows
        assert (back["respondent_key"], back["owner_key"], back["village_id"], back["period_id"]) == (
            RESPONDENT, OWNER, 7, 3)
        assert (back["stage"], back["step"], back["comment"], bool(back["replace_existing"])) == (
            "comment", 8, "路灯", True)
        answers = back["answers"] if isinstance(back["answers"], dict) else json.loads(back["answers"])
        assert answers == {"service": 5, "culture": None}
        touched = back["updated_at"] if isinstance(back["updated_at"], datetime) else datetime.fromisoformat(
            back["updated_at"])
        assert touched.replace(tzinfo=None) == TOUCHED.replace(tzinfo=None)

        upgrade(engine)
        with make_session_factory(engine)() as session:
            assert S.load_draft(session, owner_key=OWNER, now=TOUCHED).comment == "路灯"
    finally:
        engine.dispose()


def test_upgrade_with_no_drafts_and_a_red_card_step_left_alone(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO pending_actions (kind, payload, created_at, chat_id) "
                              "VALUES ('redcard', '{}', :at, 42)"),
                         {"at": TOUCHED if engine.dialect.name != "sqlite" else TOUCHED.replace(tzinfo=None)})
        upgrade(engine, "0002_pending_steps")
        downgrade(engine, "0001")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT kind, chat_id FROM pending_actions")).one() == ("redcard", 42)
            assert conn.execute(text("SELECT count(*) FROM survey_drafts")).scalar() == 0
    finally:
        engine.dispose()
