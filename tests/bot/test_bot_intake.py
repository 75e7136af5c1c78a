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


def _retry_soon(monkeypatch) -> None:
    """The first retry after 0.2 s instead of 2 s (what is tested is that it comes, not how long it waits)."""
    from datetime import timedelta

    monkeypatch.setattr(intake, "RETRY_DELAYS", (timedelta(seconds=0.2), *intake.RETRY_DELAYS[1:]))


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


async def test_the_round_that_records_a_message_done_claims_the_same_users_next_one(bot, session_factory):
    app = await _running(bot)
    worker = app.bot_data.intake_worker
    await worker.stop()  # the rounds are driven by hand here
    first, second = _message(app, f"{FORBIDDEN}，第一次"), _message(app, f"{FORBIDDEN}，第二次")
    await app.update_queue.put(first)
    [claimed], _ = await asyncio.to_thread(worker._round, [], [], [], 10)
    await app.update_queue.put(second)  # arrives while the first is being handled: its user is busy
    assert (await asyncio.to_thread(worker._round, [], [], [], 10))[0] == []
    # One transaction records the first done and, seeing that, hands out the second: no wake-up in between.
    [following], _ = await asyncio.to_thread(worker._round, [claimed.update_id], [], [], 10)
    assert (claimed.update_id, following.update_id) == (first.update_id, second.update_id)
    with session_factory() as s:
        assert intake.counts(s)[intake.Status.DONE] == 1 and intake.counts(s)[intake.Status.CLAIMED] == 1


async def test_telegram_500_after_the_check_was_saved_is_told_truthfully_and_retried_without_a_second_record(
        bot, session_factory, monkeypatch):
    _retry_soon(monkeypatch)
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


async def test_a_step_opened_by_the_message_before_in_the_same_claim_gets_the_next_message(
        bot, session_factory, invite, monkeypatch):
    """The claim reads which steps wait in the chat of the first message of each user's chain (the router then asks
    nothing itself); a later message of the same chain is routed by a fresh look-up, so a step its predecessor
    opened gets it: here 其他(手动输入) and the typed department, claimed together."""
    from bot import router
    from storage.models import RedCard
    from tests.bot.conftest import CADRE_ID, register

    await register(bot.chat(CADRE_ID), invite("cadre", "V1"))
    app = await bot.restart(intake=IntakeMode.WEBHOOK)
    cadre = bot.chat(CADRE_ID)
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    worker = app.bot_data.intake_worker
    looked_up: list[int] = []
    real = router.open_kinds
    monkeypatch.setattr(router, "open_kinds", lambda *a, **k: looked_up.append(k["chat_id"]) or real(*a, **k))
    for payload in (cadre.press_payload("其他(手动输入)"), cadre.text_payload("镇医保办")):  # nobody claims yet
        await app.update_queue.put(make_update(app, payload))
    await worker.start()
    await _until(lambda: "已记为红牌候选：镇医保办" in (cadre.last_message.text or ""))
    await worker.stop()
    with session_factory() as s:
        [card] = s.scalars(select(RedCard)).all()
        assert card.department == "镇医保办"
        assert [c.text for c in s.scalars(select(CheckLog))] == [FORBIDDEN]  # the department was not checked
    assert looked_up == [CADRE_ID]  # the second message, after its chain's first opened the step
    looked_up.clear()
    await app.update_queue.put(make_update(app, cadre.text_payload(f"{FORBIDDEN}，又来了")))  # first of its chain
    await worker.start()
    await _until(lambda: len(_checks(session_factory)) == 2)
    await worker.stop()
    assert looked_up == []  # routed by what the claim read: the step is done, so the text was checked
    assert _checks(session_factory)[-1].text == f"{FORBIDDEN}，又来了"


async def test_a_department_typed_while_the_database_fails_is_tried_again_and_completes_the_card(
        bot, session_factory, invite, monkeypatch):
    """The claim saw the card waiting; the database failed before the step could be asked: the cadre is told it
    was received, and once the database answers the typed text completes the card (not checked as a task)."""
    from flows import redcard as flow
    from storage.errors import DatabaseUnavailable
    from storage.models import RedCard
    from tests.bot.conftest import CADRE_ID, register

    _retry_soon(monkeypatch)
    await register(bot.chat(CADRE_ID), invite("cadre", "V1"))
    app = await bot.restart(intake=IntakeMode.WEBHOOK)
    cadre = bot.chat(CADRE_ID)
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    real = flow.waiting_for_typed
    failures = [DatabaseUnavailable("the database went away")]
    monkeypatch.setattr(flow, "waiting_for_typed", lambda *a: real(*a) if not failures else _raise(failures.pop()))
    await app.update_queue.put(make_update(app, cadre.text_payload("镇医保办")))
    await app.bot_data.intake_worker.start()
    await _until(lambda: "已记为红牌候选：镇医保办" in (cadre.last_message.text or ""),
                 timeout=intake.RETRY_DELAYS[0].total_seconds() + 10)
    await app.bot_data.intake_worker.stop()
    texts = cadre.texts()
    assert texts[-2] == E.RETRYING and not any("只收到" in t for t in texts)
    with session_factory() as s:
        assert [c.department for c in s.scalars(select(RedCard))] == ["镇医保办"]
        assert [c.text for c in s.scalars(select(CheckLog))] == [FORBIDDEN]


def _raise(error: Exception):
    raise error


async def test_the_check_limit_holds_across_worker_processes(bot):
    """Two workers beside each other (as `cadrebot worker` processes are) count one user's checks together: the
    fourth of a minute, wherever it is handled, gets the one warning, the fifth nothing."""
    from bot.ratelimit import RateLimiter
    from tests.chat import Chat

    apps = [await bot.start(worker_name=f"w{n}", limiter=RateLimiter(per_minute=3)) for n in (1, 2)]
    chats = [Chat(app, app.bot_data["transport"], USER) for app in apps]
    replies = [await chats[n % 2].send_text(f"{FORBIDDEN}，第{n}次") for n in range(5)]
    assert all(r and r[0].text.startswith("⛔") for r in replies[:3])
    assert "您发得太快了" in replies[3][0].text
    assert replies[4] == []


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


async def test_webhook_requests_arriving_during_a_write_wait_for_at_most_the_next_write(monkeypatch):
    """A steady stream of webhook requests: each HTTP 200 comes once its own update is written, not after every write
    queued before it (with a lock taken in turn, the waits grew with the stream: 0.5 s after half a second of it)."""
    import contextlib

    from telegram import Update

    from bot.intake import DurableUpdateQueue

    written: list[list[int]] = []

    def slow_receive(session, bot_id, batch):
        time.sleep(0.03)  # one write of the batch
        written.append([update_id for update_id, _, _ in batch])

    monkeypatch.setattr(intake, "receive", slow_receive)
    database = type("Db", (), {"session": staticmethod(contextlib.nullcontext)})()
    queue = DurableUpdateQueue(database, "secret", bot_id=1, wait_until_saved=True)
    waits: list[float] = []

    async def request(n: int) -> None:
        update = Update.de_json({"update_id": n, "message": {
            "message_id": n, "date": 0, "text": "x", "chat": {"id": 10 + n, "type": "private"},
            "from": {"id": 10 + n, "is_bot": False, "first_name": "测试"}}}, None)
        started = time.monotonic()
        await queue.put(update)  # returns when the update is written: the HTTP 200
        waits.append(time.monotonic() - started)

    requests = []
    for n in range(1, 101):  # one every 5 ms, while each write takes 30 ms
        requests.append(asyncio.create_task(request(n)))
        await asyncio.sleep(0.005)
    await asyncio.gather(*requests)
    assert [n for batch in written for n in batch] == list(range(1, 101))  # each once, in order
    assert max(waits) < 0.3, f"the slowest request waited {max(waits):.2f} s"
