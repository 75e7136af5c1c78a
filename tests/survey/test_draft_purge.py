"""Abandoned surveys do not keep residents' partial answers for ever: a survey in progress is a pending step that
expires storage.surveys.DRAFT_MAX_AGE after its last change, and the bot's one purge of expired pending steps
deletes it (the survey has no purge job of its own). The job is scheduled on the production Application and its
callback is invoked directly here (the JobQueue itself is not started), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update

import handlers.survey as H
from bot import app as core
from bot.services import get_services
from storage import surveys as S
from storage.models import PendingAction, utcnow
from tests.survey.conftest import FALLTHROUGH, OTHER_RESIDENT_ID, RESIDENT_ID, chat_for


def _owner(app, user_id: int) -> str:
    return S.owner_key(get_services(app).settings.secret.get_secret_value(), user_id)


def _drafts(session_factory) -> dict[str, dict]:
    """owner key -> the draft's partial answers, as stored (expired or not)."""
    with session_factory() as s:
        rows = s.scalars(select(PendingAction).where(PendingAction.kind == S.DRAFT_KIND))
        return {row.owner_key: dict(row.payload.get("answers") or {}) for row in rows}


def _abandon(session_factory, owner: str, days: float) -> None:
    """Pretend the resident walked away `days` ago (the draft expired DRAFT_MAX_AGE after that)."""
    expired = utcnow() - timedelta(days=days) + S.DRAFT_MAX_AGE
    with session_factory() as s:
        s.execute(update(PendingAction).where(PendingAction.owner_key == owner).values(expires_at=expired))
        s.commit()


async def _run_purge(app) -> None:
    [job] = app.job_queue.get_jobs_by_name(core.PURGE_JOB)
    await job.callback(app.context_types.context.from_job(job, app))


async def _two_residents_mid_survey(app):
    aunt, neighbour = chat_for(app), chat_for(app, OTHER_RESIDENT_ID, "张大爷")
    await aunt.send_command("survey", "V1")
    await aunt.press("5 非常满意")
    await aunt.press("2 不满意")
    await neighbour.send_command("survey", "V1")
    await neighbour.press("4 满意")
    return aunt, neighbour


async def test_one_purge_for_every_pending_step_and_none_of_the_surveys_own(start_bot):
    app = await start_bot(job_queue=True)
    [purge] = app.job_queue.get_jobs_by_name(core.PURGE_JOB)
    assert purge.callback is core.purge_expired_pending
    # the survey's only job erases closed periods' keys; drafts go with the one purge
    assert [job.name for job in app.job_queue.jobs() if "survey" in job.name] == [H.ERASE_JOB]
    assert not hasattr(H, "purge_drafts_job")


async def test_abandoned_drafts_are_deleted_and_active_surveys_carry_on(start_bot, session_factory):
    app = await start_bot(job_queue=True)
    aunt, neighbour = await _two_residents_mid_survey(app)
    aunt_key, neighbour_key = _owner(app, RESIDENT_ID), _owner(app, OTHER_RESIDENT_ID)
    before = _drafts(session_factory)
    assert before[aunt_key] and before[neighbour_key]  # partial answers are kept while a survey is in progress

    _abandon(session_factory, aunt_key, (S.DRAFT_MAX_AGE + timedelta(days=1)).days)  # 李阿姨 walked away
    await _run_purge(app)

    after = _drafts(session_factory)
    assert aunt_key not in after, "the abandoned draft, with its partial answers and times, is gone"
    assert after[neighbour_key] == before[neighbour_key]

    # 张大爷 is still mid-survey: his next typed answer counts
    await neighbour.send_text("3")
    assert "第 3/8 题" in neighbour.last_message.text
    # 李阿姨's text now goes to the task check, and /survey starts her afresh
    await aunt.send_text("街道让我们收医保的钱")
    assert aunt.last_message.text == FALLTHROUGH + "街道让我们收医保的钱"
    new = await aunt.send_command("survey", "V1")
    assert any(m.text.startswith("第 1/8 题") for m in new)


async def test_an_expired_draft_is_not_resumed_even_before_the_purge_runs(start_bot, session_factory):
    app = await start_bot(job_queue=True)
    aunt, _ = await _two_residents_mid_survey(app)
    _abandon(session_factory, _owner(app, RESIDENT_ID), 8)
    await aunt.send_text("4")  # no survey in progress any more: the task check gets it
    assert aunt.last_message.text == FALLTHROUGH + "4"
    new = await aunt.send_command("survey", "V1")
    assert "欢迎回来" not in new[0].text and new[1].text.startswith("第 1/8 题")


async def test_a_fresh_database_purge_changes_nothing(start_bot, session_factory):
    app = await start_bot(job_queue=True)
    await _two_residents_mid_survey(app)
    before = _drafts(session_factory)
    await _run_purge(app)
    assert _drafts(session_factory) == before


async def test_with_the_database_down_the_purge_waits_for_the_next_run(start_bot, session_factory):
    app = await start_bot(job_queue=True)
    await _two_residents_mid_survey(app)
    aunt_key = _owner(app, RESIDENT_ID)
    _abandon(session_factory, aunt_key, 30)
    services = get_services(app)
    services.db_paused_until = time.monotonic() + 60  # run_db raises DatabaseUnavailable
    await _run_purge(app)  # does not raise
    assert aunt_key in _drafts(session_factory)
    services.db_paused_until = 0.0
    await _run_purge(app)
    assert aunt_key not in _drafts(session_factory)
