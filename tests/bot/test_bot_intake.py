"""The durable intake inside one process, on SQLite and PostgreSQL: updates saved before they are handled, handled
once, in order per user, and a Telegram 5xx after the check was saved told truthfully and retried by itself."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from bot.intake import IntakeMode
from storage import intake
from storage.models import CheckLog
from tests.chat import make_update
from texts import errors as E

FORBIDDEN = "街道让我们收医保的钱还要排名"
USER = 5_550_001_111


def _message(app, text: str, user: int = USER, update_id: int | None = None):
    payload = {"message": {"message_id": 1, "date": int(time.time()), "text": text,
                           "chat": {"id": user, "type": "private", "first_name": "测试"},
                           "from": {"id": user, "is_bot": False, "first_name": "测试"}}}
    if update_id is not None:
        payload["update_id"] = update_id
    return make_update(app, payload)


async def _until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def _checks(session_factory) -> list[CheckLog]:
    with session_factory() as s:
        return list(s.scalars(select(CheckLog).order_by(CheckLog.id)))


async def _running(bot):
    app = await bot.start(intake=IntakeMode.WEBHOOK)
    await app.bot_data.intake_worker.start()
    return app


async def test_an_update_is_saved_before_it_is_acknowledged_and_answered_from_the_database(bot, session_factory):
    app = await _running(bot)
    worker = app.bot_data.intake_worker
    await worker.stop()  # nobody handles it: what put() returned for is the saved row alone
    await app.update_queue.put(_message(app, FORBIDDEN))
    with session_factory() as s:
        assert intake.counts(s)[intake.Status.PENDING] == 1
    await worker.start()
    await _until(lambda: bot.transport.sent(USER))
    assert bot.transport.sent(USER)[0].text.startswith("⛔")
    await worker.stop()


async def test_a_redelivered_update_is_checked_and_logged_once(bot, session_factory):
    app = await _running(bot)
    update = _message(app, FORBIDDEN)
    await app.update_queue.put(update)
    await _until(lambda: bot.transport.sent(USER))
    await app.update_queue.put(_message(app, FORBIDDEN, update_id=update.update_id))  # Telegram sends it again
    await asyncio.sleep(0.3)
    await app.bot_data.intake_worker.stop()
    assert len(_checks(session_factory)) == 1 and len(bot.transport.sent(USER)) == 1


async def test_one_users_messages_are_answered_in_the_order_sent(bot, session_factory):
    app = await _running(bot)
    texts = [f"{FORBIDDEN}，第{n}次" for n in range(6)]
    for text in texts:
        await app.update_queue.put(_message(app, text))
    await _until(lambda: len(_checks(session_factory)) == len(texts))
    await app.bot_data.intake_worker.stop()
    assert [c.text for c in _checks(session_factory)] == texts


async def test_telegram_500_after_the_check_was_saved_is_told_truthfully_and_retried_without_a_second_record(
        bot, session_factory):
    app = await _running(bot)
    bot.transport.fail_next("sendMessage", status=500, description="Internal Server Error")
    await app.update_queue.put(_message(app, FORBIDDEN))
    await _until(lambda: any(m.text.startswith("⛔") for m in bot.transport.sent(USER)),
                 timeout=intake.RETRY_DELAYS[0].total_seconds() + 10)
    await app.bot_data.intake_worker.stop()
    texts = [m.text for m in bot.transport.sent(USER)]
    assert texts[0] == E.RETRYING  # not "没有完成，请重发": it was saved and is being retried
    assert texts[1].startswith("⛔") and len(texts) == 2
    assert not any("没有完成" in t for t in texts)
    [check] = _checks(session_factory)  # the retry found the check it had saved
    with session_factory() as s:
        assert intake.counts(s)[intake.Status.DONE] == 1
        assert s.scalar(select(func.count()).select_from(CheckLog)) == 1
    assert check.text == FORBIDDEN


async def test_while_nobody_answers_a_survey_a_message_costs_no_slow_key(bot, monkeypatch):
    """The survey's owner key takes ~50 ms of scrypt; a cadre's check must not pay it when no survey is open."""
    from storage import surveys

    derived = []
    real = surveys._slow_key
    monkeypatch.setattr(surveys, "_slow_key", lambda *args: derived.append(args) or real(*args))
    await bot.start()
    replies = await bot.chat(USER).send_text(FORBIDDEN)
    assert replies[0].text.startswith("⛔")
    assert derived == []


async def test_a_worker_beside_other_processes_is_woken_by_what_they_receive_instead_of_polling(
        bot, session_factory, db_kind, monkeypatch):
    """On PostgreSQL an idle named worker LISTENs: another process's update reaches it at once, and while nothing
    comes it asks the database about once a second, not fifty times (SQLite has no other processes: it polls)."""
    import json

    from bot import intake as worker_module

    claims = []
    real_claim = intake.claim

    def counting_claim(*args, **kwargs):
        claims.append(time.monotonic())
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(worker_module.intake, "claim", counting_claim)
    app = await bot.start(intake=IntakeMode.WORKER, worker_name="beside-others")
    worker = app.bot_data.intake_worker
    await worker.start()
    try:
        await asyncio.sleep(1.0)  # settle: the first polls back off, the listener connects
        claims.clear()
        await asyncio.sleep(1.0)
        idle_claims = len(claims)
        update = _message(app, FORBIDDEN, update_id=424242)
        with session_factory() as s:  # what the receiving process does
            intake.receive(s, worker.bot_id, [(424242, 1, json.dumps(update.to_dict()))])
            s.commit()
        started = time.monotonic()
        await _until(lambda: bot.transport.sent(USER), timeout=5)
        reached = time.monotonic() - started
    finally:
        await worker.stop()
    if db_kind == "postgres":
        assert idle_claims <= 3, idle_claims  # ~1 a second while listening
        assert reached < 0.5, reached
    else:
        assert idle_claims >= 25  # polling every 20 ms: what listening spares
