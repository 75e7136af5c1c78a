"""Abandoned surveys do not keep residents' partial answers for ever: a daily job deletes drafts untouched for
storage.surveys.DRAFT_MAX_AGE. The job is registered on the production Application and its callback is invoked
directly here (the JobQueue itself is not started), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update
from telegram.ext import CallbackContext

import handlers.survey as H
from bot.services import get_services
from storage import surveys as S
from storage.models import SurveyDraft, utcnow
from tests.survey.conftest import FALLTHROUGH, OTHER_RESIDENT_ID, RESIDENT_ID, chat_for


def _owner(app, user_id: int) -> str:
    return S.owner_key(get_services(app).settings.secret, user_id)


def _drafts(session_factory) -> dict[str, dict]:
    """owner key -> the draft's partial answers."""
    with session_factory() as s:
        return {d.owner_key: dict(d.answers or {}) for d in s.scalars(select(SurveyDraft))}


def _age(session_factory, owner: str, days: float) -> None:
    """Pretend the draft was last touched `days` ago."""
    with session_factory() as s:
        s.execute(update(SurveyDraft).where(SurveyDraft.owner_key == owner).values(updated_at=utcnow() - timedelta(days=days)))
        s.commit()


async def _run_purge(app) -> None:
    [job] = app.job_queue.get_jobs_by_name(H.PURGE_JOB)
    await job.callback(CallbackContext.from_job(job, app))


async def _two_residents_mid_survey(app):
    aunt, neighbour = chat_for(app), chat_for(app, OTHER_RESIDENT_ID, "张大爷")
    await aunt.send_command("survey", "V1")
    await aunt.press("5 非常满意")
    await aunt.press("2 不满意")
    await neighbour.send_command("survey", "V1")
    await neighbour.press("4 满意")
    return aunt, neighbour


async def test_the_purge_is_scheduled_daily_and_after_start_up(start_bot):
    app = await start_bot(job_queue=True)
    names = {job.name for job in app.job_queue.jobs()}
    assert {H.PURGE_JOB, H.PURGE_STARTUP_JOB} <= names
    [daily] = app.job_queue.get_jobs_by_name(H.PURGE_JOB)
    assert daily.callback is H.purge_drafts_job
    trigger = daily.job.trigger
    assert str(trigger.timezone) == "Asia/Shanghai" and "hour='3'" in str(trigger) and "minute='30'" in str(trigger)


async def test_without_a_job_queue_nothing_is_scheduled_and_nothing_fails(start_bot):
    app = await start_bot()  # job_queue=False, as in some tests and deployments
    H.schedule_jobs(app)  # no JobQueue: skipped, no error
    assert app.bot.token  # the Application was built (add_handlers ran schedule_jobs too)


async def test_abandoned_drafts_are_deleted_and_active_surveys_carry_on(start_bot, session_factory):
    app = await start_bot(job_queue=True)
    aunt, neighbour = await _two_residents_mid_survey(app)
    aunt_key, neighbour_key = _owner(app, RESIDENT_ID), _owner(app, OTHER_RESIDENT_ID)
    before = _drafts(session_factory)
    assert before[aunt_key] and before[neighbour_key]  # partial answers are kept while a survey is in progress
    assert {aunt_key, neighbour_key} <= app.bot_data[H.DRAFT_OWNERS_KEY]

    _age(session_factory, aunt_key, (S.DRAFT_MAX_AGE + timedelta(days=1)).days)  # 李阿姨 walked away a week ago
    await _run_purge(app)

    after = _drafts(session_factory)
    assert aunt_key not in after, "the abandoned draft, with its partial answers and exact time, is gone"
    assert after[neighbour_key] == before[neighbour_key]
    assert aunt_key not in (app.bot_data.get(H.DRAFT_OWNERS_KEY) or set())

    # 张大爷 is still mid-survey: his next typed answer counts, so the owners' set was reloaded correctly
    await neighbour.send_text("3")
    assert "第 3/8 题" in neighbour.last_message.text
    assert aunt_key not in app.bot_data[H.DRAFT_OWNERS_KEY] and neighbour_key in app.bot_data[H.DRAFT_OWNERS_KEY]
    # 李阿姨's text now goes to the task check, and /survey starts her afresh
    await aunt.send_text("街道让我们收医保的钱")
    assert aunt.last_message.text == FALLTHROUGH + "街道让我们收医保的钱"
    new = await aunt.send_command("survey", "V1")
    assert any(m.text.startswith("第 1/8 题") for m in new)


async def test_a_fresh_database_purge_changes_nothing(start_bot, session_factory):
    app = await start_bot(job_queue=True)
    await _two_residents_mid_survey(app)
    owners = app.bot_data[H.DRAFT_OWNERS_KEY]
    before = _drafts(session_factory)
    await _run_purge(app)
    assert _drafts(session_factory) == before
    assert app.bot_data[H.DRAFT_OWNERS_KEY] is owners  # nothing purged: the set is kept


async def test_with_the_database_down_the_purge_waits_for_the_next_run(start_bot, session_factory):
    app = await start_bot(job_queue=True)
    await _two_residents_mid_survey(app)
    aunt_key = _owner(app, RESIDENT_ID)
    _age(session_factory, aunt_key, 30)
    services = get_services(app)
    services.db_paused_until = time.monotonic() + 60  # run_db raises DatabaseUnavailable
    await _run_purge(app)  # does not raise
    assert aunt_key in _drafts(session_factory)
    services.db_paused_until = 0.0
    await _run_purge(app)
    assert aunt_key not in _drafts(session_factory)
