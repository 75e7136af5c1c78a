"""Reliability as a user notices it: database down or locked, restarts mid-flow, overload, Telegram's 429,
failures inside a handler, and the start-up command menu."""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.app import PURGE_JOB, _post_init, build_application, protect_logs, purge_expired_pending
from bot.outgoing_limits import OutgoingLimits
from bot.ratelimit import RateLimiter
from bot.router import CadreContext
from storage.db import Database
from storage.models import CheckLog, PendingAction, RedCard, utcnow
from tests.bot.conftest import CADRE_ID, RESIDENT_ID, TOKEN
from tests.bot.test_bot_check import ASSIST, FORBIDDEN, rows
from tests.chat import Chat
from tests.telegram_transport import RecordingRequest

DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


async def wait_until(condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


# ---------------------------------------------------------------------------------------------- database down


async def test_database_down_check_is_still_answered_and_saved_later(bot, cadre, session_factory, places):
    await cadre.send_text(ASSIST)  # while the database is up: the bot learns who the cadre is
    [first] = rows(session_factory, CheckLog)
    assert first.village_id == places.village_ids["V1"]
    live = bot.services.db
    bot.services.db = Database(DEAD_DATABASE)
    try:
        await cadre.send_text(FORBIDDEN)
        answer = cadre.last_message
        assert answer.text.startswith("⛔") and "C20" in answer.text
        assert "暂未保存" in answer.text and "自动补存" in answer.text
        assert answer.buttons == []  # nothing to press that would need the database
        assert len(bot.services.outbox) == 1
        # Other database-dependent actions say plainly that the system is busy, quoting what was sent.
        await cadre.send_command("redcards")
        assert "系统繁忙" in cadre.last_message.text
        stranger = bot.chat(RESIDENT_ID)
        await stranger.send_command("register", "ABCD2345")
        assert "系统繁忙" in stranger.last_message.text and "ABCD2345" in stranger.last_message.text
    finally:
        bot.services.db.dispose()
        bot.services.db = live
        bot.services.database_back()  # skip the few seconds' pause before the database is tried again
    assert [e.id for e in rows(session_factory, CheckLog)] == [first.id]
    # The database is back: the next check is saved, and so is the one that waited.
    await cadre.send_text(ASSIST)
    assert cadre.last_message.button_labels == ["👍", "👎"]
    await wait_until(lambda: len(bot.services.outbox) == 0)
    saved = rows(session_factory, CheckLog)
    assert sorted(e.text for e in saved) == sorted([FORBIDDEN, ASSIST, ASSIST])
    assert {e.verdict for e in saved} == {"restricted", "assist"}
    # The check that waited counts for the cadre's village (the digest's checks per village), like the others.
    [waited] = [e for e in saved if e.text == FORBIDDEN]
    assert (waited.village_id, waited.member_id) == (places.village_ids["V1"], first.member_id)


async def test_database_down_while_pressing_buttons(bot, cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    live = bot.services.db
    bot.services.db = Database(DEAD_DATABASE)
    try:
        await cadre.press("记为红牌候选")
        assert "系统繁忙" in cadre.last_answer
        await cadre.press("👍")
        assert "系统繁忙" in cadre.last_answer
    finally:
        bot.services.db.dispose()
        bot.services.db = live
        bot.services.database_back()  # skip the few seconds' pause before the database is tried again
    await cadre.press("记为红牌候选")
    await cadre.press("街道办事处")
    assert "已记为红牌候选" in cadre.last_message.text
    assert len(rows(session_factory, RedCard)) == 1


class Locker:
    """Another process holding a lock on the check log: SQLite's file lock, PostgreSQL's table lock."""

    def __init__(self, db_kind: str, db_url: str):
        self.db_kind, self.db_url = db_kind, db_url

    def __enter__(self):
        if self.db_kind == "sqlite":
            self.conn = sqlite3.connect(self.db_url.removeprefix("sqlite:///"), timeout=0.1)
            self.conn.execute("BEGIN EXCLUSIVE")
        else:
            import psycopg

            self.conn = psycopg.connect(self.db_url.replace("postgresql+psycopg://", "postgresql://"))
            self.conn.execute("LOCK TABLE check_log IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc):
        self.conn.rollback()
        self.conn.close()


def busy_database(db_kind: str, db_url: str, monkeypatch) -> Database:
    """The same database with a short wait for locks (SQLite: production's own; PostgreSQL: shorter)."""
    if db_kind == "sqlite":
        return Database(db_url)
    return Database(db_url, connect_args={"options": "-c lock_timeout=200"})


async def test_database_locked_check_is_answered_and_saved_when_released(bot, cadre, db_kind, db_url,
                                                                          session_factory, monkeypatch):
    live = bot.services.db
    bot.services.db = busy_database(db_kind, db_url, monkeypatch)
    try:
        with Locker(db_kind, db_url):
            await cadre.send_text(FORBIDDEN)
            assert cadre.last_message.text.startswith("⛔") and "暂未保存" in cadre.last_message.text
        bot.services.database_back()  # skip the few seconds' pause before the database is tried again
        await cadre.send_text(ASSIST)
        await wait_until(lambda: len(bot.services.outbox) == 0)
        assert sorted(e.text for e in rows(session_factory, CheckLog)) == sorted([FORBIDDEN, ASSIST])
    finally:
        bot.services.db.dispose()
        bot.services.db = live
        bot.services.database_back()  # skip the few seconds' pause before the database is tried again


@pytest.mark.parametrize("db_kind", ["sqlite"])  # SQLite's file lock; PostgreSQL's lock_timeout is the test above
async def test_a_write_locked_sqlite_file_answers_within_a_second(bot, cadre, db_kind, db_url, session_factory):
    """Another writer (a CLI command, a backup) holds SQLite's lock: the cadre is not kept waiting for it."""
    with Locker(db_kind, db_url):
        started = time.monotonic()
        await cadre.send_text(FORBIDDEN)
        waited = time.monotonic() - started
        answer = cadre.last_message.text
        assert rows(session_factory, CheckLog) == []  # readers still see the file: nothing was written
    assert waited < 1.5, f"the reply took {waited:.1f} s"
    assert answer.startswith("⛔") and "C20" in answer and "系统繁忙" in answer and "恢复后会自动补存" in answer
    assert len(bot.services.outbox) == 1
    bot.services.database_back()  # skip the few seconds' pause before the database is tried again
    await cadre.send_text(ASSIST)  # the lock is gone: this check is saved, and so is the one that waited
    await wait_until(lambda: len(bot.services.outbox) == 0)
    assert sorted(e.text for e in rows(session_factory, CheckLog)) == sorted([FORBIDDEN, ASSIST])


async def test_unsaved_checks_survive_a_restart(bot, cadre, session_factory, places):
    await cadre.send_text(ASSIST)
    live = bot.services.db
    bot.services.db = Database(DEAD_DATABASE)
    await cadre.send_text(FORBIDDEN)
    assert len(bot.services.outbox) == 1
    app = bot.app
    bot.services.db.dispose()
    await app.shutdown()
    bot.services.db = live
    bot.services.database_back()
    assert (bot.settings.data_dir / "outbox.jsonl").is_file()
    bot.apps[-1] = (app, None)
    new_app = await bot.start(transport=bot.transport)
    await _post_init(new_app)  # start-up reads the file back
    new_services = new_app.bot_data.services
    assert len(new_services.outbox) == 1
    new_services.outbox.flush(new_services.db)
    assert [e.text for e in rows(session_factory, CheckLog)] == [ASSIST, FORBIDDEN]
    assert {e.village_id for e in rows(session_factory, CheckLog)} == {places.village_ids["V1"]}
    assert len(new_services.outbox) == 0


# ---------------------------------------------------------------------------------------------- restarts


async def test_restart_in_the_middle_of_a_red_card_resumes(bot, cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    ask = cadre.last_message
    await bot.restart()
    again = bot.chat(CADRE_ID)  # the same person, talking to the new process
    await again.press("街道办事处", message=ask)
    assert "已记为红牌候选" in again.last_message.text
    assert len(rows(session_factory, RedCard)) == 1
    assert rows(session_factory, PendingAction) == []


async def test_restart_while_typing_the_department_resumes(bot, cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    await bot.restart()
    again = bot.chat(CADRE_ID)
    await again.send_text("蓝天志愿者协会")
    assert "已记为红牌候选：蓝天志愿者协会" in again.last_message.text
    assert rows(session_factory, RedCard)[0].department == "蓝天志愿者协会"


async def test_an_expired_step_after_restart_ends_cleanly(bot, cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    ask = cadre.last_message
    with session_factory() as s:
        s.execute(update(PendingAction).values(expires_at=utcnow() - timedelta(minutes=1)))
        s.commit()
    await bot.restart()
    again = bot.chat(CADRE_ID)
    await again.press("街道办事处", message=ask)
    assert "已失效" in again.last_answer
    assert again.last_message.buttons == []  # the dead keyboard is removed
    assert rows(session_factory, RedCard) == []


async def test_expired_pending_steps_are_purged_by_the_daily_job(bot, cadre, session_factory, caplog):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")  # left without choosing a department
    [abandoned] = rows(session_factory, PendingAction)
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    ask = cadre.last_message
    with session_factory() as s:
        s.execute(update(PendingAction).where(PendingAction.id == abandoned.id)
                  .values(expires_at=utcnow() - timedelta(minutes=1)))
        s.commit()
    job_context = CadreContext(bot.app)
    await purge_expired_pending(job_context)
    [running] = rows(session_factory, PendingAction)
    assert running.id != abandoned.id
    await cadre.press("街道办事处", message=ask)  # the step still running is untouched
    assert "已记为红牌候选" in cadre.last_message.text
    # The database down: the job skips this run quietly (the next day's run catches up).
    live = bot.services.db
    bot.services.db = Database(DEAD_DATABASE)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.app"):
            await purge_expired_pending(job_context)
    finally:
        bot.services.db.dispose()
        bot.services.db = live
        bot.services.database_back()
    assert any("purge skipped" in r.getMessage() for r in caplog.records)


async def test_the_purge_is_scheduled_daily_at_start_up(bot):
    app = await bot.restart(job_queue=True)
    await _post_init(app)
    [job] = app.job_queue.get_jobs_by_name(PURGE_JOB)
    assert job.callback is purge_expired_pending
    assert job.job.trigger.interval == timedelta(days=1)


# ---------------------------------------------------------------------------------------------- overload


async def test_checks_are_rate_limited_per_user(bot, invite):
    await bot.restart(limiter=RateLimiter(per_minute=3))
    cadre = bot.chat(CADRE_ID)
    for _ in range(3):
        await cadre.send_text(ASSIST)
        assert cadre.last_message.text.startswith("🤝")
    await cadre.send_text(FORBIDDEN)
    text = cadre.last_message.text
    assert "太快" in text and "秒后再试" in text and FORBIDDEN in text
    assert "不会处理" in text and "重新发送" in text  # the rest of the burst gets no reply: the warning says so
    answered = len(cadre.replies)
    for n in range(20):  # the rest of the burst: no reply each (each would cost the chat a second of sending)
        assert await cadre.send_text(f"{FORBIDDEN} {n}") == []
    assert len(cadre.replies) == answered
    other = bot.chat(RESIDENT_ID)  # someone else is not affected
    await other.send_text(ASSIST)
    assert other.last_message.text.startswith("🤝")


async def test_telegram_429_is_honoured_by_the_default_rate_limiter(bot, places, kb):
    transport = RecordingRequest()
    app = build_application(bot.settings, token=TOKEN, request=transport, kb=kb, db=Database(bot.db_url),
                            job_queue=False, set_commands=False)
    assert isinstance(app.bot.rate_limiter, OutgoingLimits)
    async with app:
        transport.fail_next("sendMessage", status=429, retry_after=1)
        user = Chat(app, transport, RESIDENT_ID)
        await user.send_text(ASSIST)
        sends = transport.calls_of("sendMessage")
        assert [c.ok for c in sends] == [False, True]
        assert sends[1].at - sends[0].at >= 1.0
        assert user.last_message.text.startswith("🤝")
    app.bot_data.services.db.dispose()


# ---------------------------------------------------------------------------------------------- failures


class BrokenKB:
    def __init__(self, kb):
        self._kb = kb
        self.items = kb.items
        self.departments = kb.departments

    def check(self, text):
        raise RuntimeError("boom")


async def test_a_failure_is_told_to_the_user_keeping_what_they_sent(bot, cadre, caplog):
    bot.services.kb = BrokenKB(bot.services.kb)
    try:
        with caplog.at_level(logging.ERROR, logger="cadrebot.errors"):
            await cadre.send_text(FORBIDDEN)
    finally:
        bot.services.kb = bot.services.kb._kb
    text = cadre.last_message.text
    assert "出错" in text and FORBIDDEN in text and "Traceback" not in text
    assert any("failure while handling" in r.getMessage() for r in caplog.records)


async def test_a_failure_on_a_very_long_message_still_fits(bot, cadre):
    bot.services.kb = BrokenKB(bot.services.kb)
    try:
        await cadre.send_text("街" * 4000)
    finally:
        bot.services.kb = bot.services.kb._kb
    assert "出错" in cadre.last_message.text and len(cadre.last_message.text) < 500


async def test_the_command_menu_is_set_and_a_refusal_is_survived(bot, caplog):
    bot.app.bot_data.set_commands = True
    await _post_init(bot.app)
    commands = [c["command"] for c in bot.transport.commands]
    assert commands[:3] == ["start", "help", "register"] and "redcards" in commands
    bot.transport.unsupported.add("setMyCommands")  # telegram-test-api answers 500
    with caplog.at_level(logging.WARNING):
        await _post_init(bot.app)
    assert any("command menu" in r.getMessage() for r in caplog.records)


def test_the_token_never_reaches_the_logs():
    from telegram.error import InvalidToken

    token = "999:SECRET-TOKEN"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        protect_logs(token)
        logging.getLogger("telegram.ext").warning("POST https://api.telegram.org/bot%s/getMe failed", token)
        # An exception whose message holds the token, logged with its traceback.
        try:
            raise InvalidToken(f"The token `{token}` was rejected by the server.")
        except InvalidToken:
            logging.getLogger("telegram.ext.Updater").exception("Error while getting Updates")
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    finally:
        root.removeHandler(handler)
    logged = stream.getvalue()
    assert "SECRET-TOKEN" not in logged, logged
    assert "<token>/getMe" in logged
    assert "Traceback (most recent call last)" in logged and "InvalidToken: The token `<token>` was rejected" in logged
    assert "Error while getting Updates" in logged


def test_a_stack_holding_the_token_is_redacted():
    from bot.app import TokenRedactingFilter

    record = logging.LogRecord("telegram", logging.ERROR, __file__, 1, "failed", None, None,
                               sinfo="Stack (most recent call last):\n  token = '999:SECRET-TOKEN'")
    TokenRedactingFilter("999:SECRET-TOKEN").filter(record)
    assert "SECRET-TOKEN" not in logging.Formatter().format(record)


async def test_every_reply_fits_telegrams_limits(bot, cadre, kb):
    """The transport refuses oversize texts and buttons; a whole session of varied input goes through."""
    for text in [FORBIDDEN, ASSIST, "你好", "字" * 4096, "😀" * 2000, "镇里让我们统计一下", "a" * 10]:
        await cadre.send_text(text)
    failed = [c for c in bot.transport.calls if not c.ok]
    assert failed == []
    for message in bot.transport.sent():
        for row in message.buttons:
            for _, data in row:
                assert len(data.encode()) <= 64
