"""Surveys: periods turn at Asia/Shanghai midnight, one response per key enforced by the database,
replace on request, drafts resume (as pending steps that expire a week after their last change), and no
Telegram ID or timestamp anywhere near the answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import BigInteger, Date, DateTime, inspect, text
from sqlalchemy.exc import IntegrityError

from storage.errors import AlreadyResponded, InvalidInput
from storage.models import PendingAction, SurveyAnswer, SurveyResponse, utcnow
from storage.surveys import (
    DEFAULT_ASPECTS,
    DRAFT_KIND,
    configured_aspects,
    current_period,
    delete_draft,
    ensure_period,
    has_responded,
    load_draft,
    owner_key,
    period_spec,
    previous_period_spec,
    respondent_key,
    save_draft,
    submit_response,
)

SECRET = "test-secret"
TG_ID = 987654321987
SURVEY_TABLES = ("survey_responses", "survey_answers", "survey_periods")
ALL_FIVE = {a.code: 5 for a in DEFAULT_ASPECTS}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- periods


def test_monthly_periods_turn_at_shanghai_midnight():
    # 2026-10-31 16:00 UTC = 2026-11-01 00:00 Asia/Shanghai
    assert period_spec(utc(2026, 10, 31, 15, 59, 59)).code == "2026-10"
    november = period_spec(utc(2026, 10, 31, 16, 0, 0))
    assert november.code == "2026-11"
    assert (november.starts_on, november.ends_on) == (date(2026, 11, 1), date(2026, 11, 30))
    assert period_spec(utc(2026, 12, 31, 16, 0)).code == "2027-01"
    assert period_spec(date(2028, 2, 29)).ends_on == date(2028, 2, 29)


def test_quarterly_periods():
    q4 = period_spec(utc(2026, 9, 30, 16, 0), "quarterly")
    assert (q4.code, q4.starts_on, q4.ends_on) == ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert period_spec(utc(2026, 9, 30, 15, 59), "quarterly").code == "2026-Q3"
    assert previous_period_spec(q4).code == "2026-Q3"
    assert previous_period_spec(period_spec(date(2026, 1, 5))).code == "2025-12"
    with pytest.raises(InvalidInput):
        period_spec(date(2026, 1, 1), "weekly")


def test_current_period_is_created_once(session, db_settings):
    a = current_period(session, db_settings, now=utc(2026, 11, 20, 3))
    b = current_period(session, db_settings, now=utc(2026, 11, 28, 3))
    assert a.id == b.id and a.code == "2026-11"
    assert current_period(session, granularity="quarterly", now=utc(2026, 11, 20)).code == "2026-Q4"


# ---------------------------------------------------------------------------------------------- keys


def test_respondent_key_is_an_hmac_of_user_village_and_period():
    key = respondent_key(SECRET, TG_ID, "V1", "2026-11")
    assert len(key) == 64 and int(key, 16) >= 0
    assert str(TG_ID) not in key
    assert key == respondent_key(SECRET, TG_ID, "V1", "2026-11")
    others = {
        respondent_key(SECRET, TG_ID + 1, "V1", "2026-11"),
        respondent_key(SECRET, TG_ID, "V2", "2026-11"),
        respondent_key(SECRET, TG_ID, "V1", "2026-12"),
        respondent_key("other-secret", TG_ID, "V1", "2026-11"),
    }
    assert key not in others and len(others) == 4
    assert owner_key(SECRET, TG_ID) != key


def test_aspects_are_configurable():
    assert [a.label for a in DEFAULT_ASPECTS][:2] == ["社区为民服务", "关心弱势群体"] and len(DEFAULT_ASPECTS) == 8
    assert configured_aspects("") == DEFAULT_ASPECTS
    custom = configured_aspects("service, overall, parking:停车管理")
    assert [(a.code, a.label) for a in custom] == [
        ("service", "社区为民服务"),
        ("overall", "社区综合评价"),
        ("parking", "停车管理"),
    ]
    with pytest.raises(InvalidInput):
        configured_aspects("nonsense")


# ---------------------------------------------------------------------------------------------- responses


@pytest.fixture
def ctx(session, world):
    period = ensure_period(session, period_spec(utc(2026, 11, 20)))
    session.commit()
    village = world.villages["V1"]
    return dict(
        key=respondent_key(SECRET, TG_ID, village.code, period.code),
        village_id=village.id,
        period_id=period.id,
    )


def test_submit_keeps_scores_day_and_comment_and_skips_are_absent(session, ctx):
    answers = dict(ALL_FIVE, vulnerable=None, culture=3)
    response = submit_response(
        session, respondent_key=ctx["key"], village_id=ctx["village_id"], period_id=ctx["period_id"],
        answers=answers, comment="  路灯坏了  ", day=date(2026, 11, 20),
    )
    session.commit()
    assert response.day == date(2026, 11, 20) and type(response.day) is date
    assert response.comment == "路灯坏了"
    assert response.scores["culture"] == 3 and "vulnerable" not in response.scores
    assert len(response.scores) == 7
    assert has_responded(session, ctx["key"])
    assert session.query(SurveyAnswer).filter_by(village_id=ctx["village_id"], period_id=ctx["period_id"]).count() == 7


def test_day_defaults_to_the_shanghai_date(session, ctx):
    response = submit_response(
        session, respondent_key=ctx["key"], village_id=ctx["village_id"], period_id=ctx["period_id"],
        answers={"overall": 4},
    )
    shanghai_today = (utcnow() + timedelta(hours=8)).date()
    assert response.day == shanghai_today


def test_a_second_submit_is_refused_unless_replacing(session, ctx):
    common = dict(respondent_key=ctx["key"], village_id=ctx["village_id"], period_id=ctx["period_id"])
    submit_response(session, answers=ALL_FIVE, comment="好", day=date(2026, 11, 2), **common)
    session.commit()
    with pytest.raises(AlreadyResponded):
        submit_response(session, answers={"overall": 1}, day=date(2026, 11, 3), **common)
    session.rollback()
    replaced = submit_response(session, answers={"overall": 2, "service": 3}, day=date(2026, 11, 4), replace=True, **common)
    session.commit()
    assert replaced.scores == {"overall": 2, "service": 3}
    assert replaced.comment is None and replaced.day == date(2026, 11, 4)
    assert session.query(SurveyResponse).count() == 1
    assert session.query(SurveyAnswer).count() == 2


def test_the_database_itself_enforces_one_response_per_key(session, ctx):
    for _ in range(2):
        session.add(SurveyResponse(respondent_key=ctx["key"], village_id=ctx["village_id"], period_id=ctx["period_id"],
                                   day=date(2026, 11, 1)))
    with pytest.raises(IntegrityError):
        session.flush()


def test_scores_must_be_one_to_five(session, ctx):
    common = dict(respondent_key=ctx["key"], village_id=ctx["village_id"], period_id=ctx["period_id"])
    for bad in ({"overall": 6}, {"overall": 0}, {"overall": "5"}, {"overall": True}, {"nope": 3}, {}):
        with pytest.raises(InvalidInput):
            submit_response(session, answers=bad, **common)
    response = submit_response(session, answers={"overall": 3}, **common)
    session.flush()
    with pytest.raises(IntegrityError):  # the CHECK constraint, below the service
        session.execute(text("UPDATE survey_answers SET score = 9 WHERE response_id = :id"), {"id": response.id})


def test_concurrent_submits_with_one_key_only_one_is_stored(session, ctx, overlap):
    def submit(s):
        return submit_response(
            s, respondent_key=ctx["key"], village_id=ctx["village_id"], period_id=ctx["period_id"], answers=ALL_FIVE
        ).id

    first, second = overlap(submit, submit)
    assert first[1] is None and isinstance(second[1], AlreadyResponded)
    session.expire_all()
    assert session.query(SurveyResponse).count() == 1


# ---------------------------------------------------------------------------------------------- drafts


def drafts_stored(session) -> list[PendingAction]:
    return session.query(PendingAction).filter_by(kind=DRAFT_KIND).all()


def test_a_draft_resumes_by_owner_and_is_deleted_on_submit(session, ctx):
    owner = owner_key(SECRET, TG_ID)
    save_draft(session, respondent_key=ctx["key"], owner_key=owner, village_id=ctx["village_id"],
               period_id=ctx["period_id"], step=2, answers={"service": 4, "vulnerable": None})
    session.commit()
    session.expunge_all()  # as after a restart
    draft = load_draft(session, owner_key=owner)
    assert draft is not None
    assert (draft.step, draft.stage, draft.answers) == (2, "aspects", {"service": 4, "vulnerable": None})
    assert (draft.village_id, draft.period_id, draft.respondent_key) == (ctx["village_id"], ctx["period_id"], ctx["key"])
    save_draft(session, respondent_key=ctx["key"], owner_key=owner, village_id=ctx["village_id"],
               period_id=ctx["period_id"], stage="comment", step=8, answers=dict(ALL_FIVE), comment="草稿")
    session.commit()
    assert load_draft(session, owner_key=owner).stage == "comment"
    assert len(drafts_stored(session)) == 1
    submit_response(session, respondent_key=ctx["key"], village_id=ctx["village_id"], period_id=ctx["period_id"],
                    answers=ALL_FIVE, owner_key=owner)
    session.commit()
    assert load_draft(session, owner_key=owner) is None
    assert drafts_stored(session) == []


def test_one_draft_per_person_cancel_and_staleness(session, ctx, world):
    owner = owner_key(SECRET, TG_ID)
    save_draft(session, respondent_key=ctx["key"], owner_key=owner, village_id=ctx["village_id"], period_id=ctx["period_id"])
    other_key = respondent_key(SECRET, TG_ID, "V2", "2026-11")
    save_draft(session, respondent_key=other_key, owner_key=owner, village_id=world.villages["V2"].id, period_id=ctx["period_id"])
    session.commit()
    assert len(drafts_stored(session)) == 1
    assert load_draft(session, owner_key=owner).respondent_key == other_key
    assert load_draft(session, owner_key=owner, now=utcnow() + timedelta(days=6)) is not None
    assert load_draft(session, owner_key=owner, now=utcnow() + timedelta(days=8)) is None, "a week untouched: gone"
    assert delete_draft(session, owner_key=owner) is True
    assert delete_draft(session, owner_key=owner) is False


def test_every_save_pushes_the_expiry_and_the_pending_purge_deletes_abandoned_drafts(session, ctx):
    from storage.pending import purge_expired

    week_ago = utcnow() - timedelta(days=8)
    walked_away, still_going = owner_key(SECRET, TG_ID), owner_key(SECRET, TG_ID + 1)
    save_draft(session, respondent_key=ctx["key"], owner_key=walked_away, village_id=ctx["village_id"],
               period_id=ctx["period_id"], answers={"service": 2}, now=week_ago)
    save_draft(session, respondent_key=respondent_key(SECRET, TG_ID + 1, "V1", "2026-11"), owner_key=still_going,
               village_id=ctx["village_id"], period_id=ctx["period_id"], answers={"service": 5}, now=week_ago)
    save_draft(session, respondent_key=respondent_key(SECRET, TG_ID + 1, "V1", "2026-11"), owner_key=still_going,
               village_id=ctx["village_id"], period_id=ctx["period_id"], answers={"service": 5, "culture": 4})
    session.commit()
    assert load_draft(session, owner_key=walked_away) is None
    assert purge_expired(session) == 1
    session.commit()
    assert [d.owner_key for d in drafts_stored(session)] == [still_going]
    assert load_draft(session, owner_key=still_going).answers == {"service": 5, "culture": 4}


# ---------------------------------------------------------------------------------------------- anonymity


def test_no_survey_column_can_hold_a_telegram_id_or_a_timestamp(engine):
    inspector = inspect(engine)
    for table in SURVEY_TABLES:
        for column in inspector.get_columns(table):
            name = column["name"].lower()
            assert "telegram" not in name and "user" not in name and "chat" not in name, (table, name)
            assert not isinstance(column["type"], BigInteger), (table, name)
            if table in ("survey_responses", "survey_answers"):
                assert not isinstance(column["type"], DateTime), f"{table}.{name} keeps a timestamp"
    day = next(c for c in inspector.get_columns("survey_responses") if c["name"] == "day")
    assert isinstance(day["type"], Date) and not isinstance(day["type"], DateTime)
    # no foreign key from survey tables to members
    for table in SURVEY_TABLES:
        assert all(fk["referred_table"] != "members" for fk in inspector.get_foreign_keys(table))


def test_a_draft_is_a_pending_step_with_no_member_and_no_chat(session, ctx):
    owner = owner_key(SECRET, TG_ID)
    save_draft(session, respondent_key=ctx["key"], owner_key=owner, village_id=ctx["village_id"],
               period_id=ctx["period_id"], answers={"service": 3})
    session.commit()
    [row] = drafts_stored(session)
    assert (row.member_id, row.chat_id, row.owner_key) == (None, None, owner)


def test_stored_survey_rows_do_not_contain_the_telegram_id(session, ctx, engine):
    owner = owner_key(SECRET, TG_ID)
    save_draft(session, respondent_key=respondent_key(SECRET, TG_ID, "V2", "2026-11"), owner_key=owner,
               village_id=ctx["village_id"], period_id=ctx["period_id"], answers={"service": 3})
    session.commit()
    submit_response(session, respondent_key=ctx["key"], village_id=ctx["village_id"], period_id=ctx["period_id"],
                    answers=ALL_FIVE, comment="谢谢")
    session.commit()
    dump = []
    with engine.connect() as connection:
        for table in SURVEY_TABLES:
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                dump.extend(str(value) for value in row)
        for row in connection.execute(text("SELECT * FROM pending_actions WHERE kind = :kind"), {"kind": DRAFT_KIND}):
            dump.extend(str(value) for value in row)
    assert dump, "nothing stored?"
    blob = "\n".join(dump)
    assert str(TG_ID) not in blob
    assert str(TG_ID)[:8] not in blob


# ---------------------------------------------------------------------------------------------- properties

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)),
    granularity=st.sampled_from(["monthly", "quarterly"]),
)
def test_periods_tile_the_calendar(moment, granularity):
    spec = period_spec(moment, granularity)
    local_day = (moment + timedelta(hours=8)).date()
    assert spec.contains(local_day)
    previous = previous_period_spec(spec)
    assert previous.ends_on == spec.starts_on - timedelta(days=1)
    assert period_spec(spec.ends_on + timedelta(days=1), granularity).starts_on == spec.ends_on + timedelta(days=1)
