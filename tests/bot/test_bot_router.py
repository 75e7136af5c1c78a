"""The router and the wiring table: one handler for free text and one for /cancel ask every flow in order; every
handler is registered from bot/wiring.py in group 0."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from telegram.ext import ApplicationHandlerStop, CommandHandler, MessageHandler

from bot import wiring
from bot.router import ActiveStep, Router
from storage.errors import DatabaseUnavailable
from storage.models import PendingAction
from tests.bot.test_bot_check import FORBIDDEN, rows


def test_every_handler_is_in_group_zero_and_free_text_has_one_handler(bot):
    app = bot.app
    assert set(app.handlers) == {0}
    handlers = app.handlers[0]
    texts = [h for h in handlers if isinstance(h, MessageHandler) and getattr(h.callback, "__name__", "") == "on_message"]
    cancels = [h for h in handlers if isinstance(h, CommandHandler) and "cancel" in h.commands
               and getattr(h.callback, "__name__", "") == "on_cancel"]  # the other one only answers groups
    assert len(texts) == 1 and len(cancels) == 1
    router = texts[0].callback.__self__
    assert isinstance(router, Router) and [s.name for s in router.steps] == [row.step.name for row in wiring.STEPS]
    assert len(handlers) == sum(1 for row in wiring.HANDLERS)  # nothing registered outside the table


def test_a_feature_that_does_not_exist_fails_and_one_without_rows_is_refused(bot):
    with pytest.raises(ModuleNotFoundError):
        wiring.wire(bot.app, ["handlers.nothing_here"])
    with pytest.raises(ValueError, match="no rows"):
        wiring.wire(bot.app, ["handlers.common"])


async def test_cancel_ends_every_flow_and_answers_once(bot, cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    await cadre.send_command("start", "s_V1")  # and a survey in progress too
    kinds = {p.kind for p in rows(session_factory, PendingAction)}
    assert {"redcard_typed", "survey"} <= kinds
    replies = await cadre.send_command("cancel")
    assert [m.text for m in replies] == ["已取消进行中的操作，未完成的内容没有保存。"]
    assert rows(session_factory, PendingAction) == []


def _update(text: str | None = "字"):
    message = SimpleNamespace(text=text, replies=[])

    async def reply_text(t, **_):
        message.replies.append(t)

    message.reply_text = reply_text
    return SimpleNamespace(effective_message=message, message=message)


def _step(name: str, waiting, seen: list[str]) -> ActiveStep:
    async def is_waiting(update, context):
        if isinstance(waiting, Exception):
            raise waiting
        return waiting

    async def on_text(update, context):
        seen.append(name)

    async def on_cancel(update, context):
        seen.append(f"cancel {name}")
        if isinstance(waiting, Exception):
            raise waiting
        return waiting is True

    return ActiveStep(name, is_waiting, on_text, on_cancel)


async def test_the_first_waiting_step_gets_the_text_and_nothing_after_it():
    seen: list[str] = []

    async def task(update, context):
        seen.append("task")

    router = Router(steps=(_step("a", False, seen), _step("b", True, seen), _step("c", True, seen)), on_task=task)
    with pytest.raises(ApplicationHandlerStop):
        await router.on_message(_update(), None)
    assert seen == ["b"]


async def test_a_step_known_to_be_open_that_cannot_be_asked_is_tried_again_not_checked_as_a_task():
    """The look-up said this chat has the step open, then the database went: the text is most likely the step's
    (a score, a department), so it is not answered as a task (which would lose it) but raised for a retry."""
    seen: list[str] = []

    async def task(update, context):
        seen.append("task")

    async def run_db(fn, *args, **kwargs):
        return {"kind_down"}  # what the look-up found

    step = _step("down", DatabaseUnavailable("down"), seen)
    step = ActiveStep(step.name, step.is_waiting, step.on_text, step.on_cancel, waits_under=frozenset({"kind_down"}))
    update = _update()
    update.effective_chat = SimpleNamespace(id=555)
    router = Router(steps=(step,), on_task=task)
    with pytest.raises(DatabaseUnavailable):
        await router.on_message(update, SimpleNamespace(services=SimpleNamespace(run_db=run_db)))
    assert seen == []


async def test_a_step_that_cannot_tell_lets_the_task_check_answer():
    seen: list[str] = []

    async def task(update, context):
        seen.append("task")

    router = Router(steps=(_step("down", DatabaseUnavailable("down"), seen),), on_task=task)
    await router.on_message(_update(), None)
    assert seen == ["task"]


async def test_cancel_asks_every_step_and_a_busy_database_is_said():
    seen: list[str] = []
    update = _update("/cancel")
    router = Router(steps=(_step("a", True, seen), _step("b", False, seen)))
    with pytest.raises(ApplicationHandlerStop):
        await router.on_cancel(update, None)
    assert seen == ["cancel a", "cancel b"] and update.effective_message.replies == [
        "已取消进行中的操作，未完成的内容没有保存。"]
    update = _update("/cancel")
    with pytest.raises(ApplicationHandlerStop):
        await Router(steps=(_step("down", DatabaseUnavailable("down"), seen),)).on_cancel(update, None)
    assert update.effective_message.replies == ["系统繁忙，请稍后再试。"]


async def test_a_step_whose_pending_kinds_are_not_open_in_this_chat_is_not_asked(session_factory):
    """One look-up says which steps can be waiting; the others are not asked (each asking costs a query)."""
    from storage.pending import create_pending

    asked: list[str] = []

    def step(name: str, kind: str) -> ActiveStep:
        async def is_waiting(update, context):
            asked.append(name)
            return True

        async def on_text(update, context):
            asked.append(f"text {name}")

        async def on_cancel(update, context):
            return False

        return ActiveStep(name, is_waiting, on_text, on_cancel, waits_under=frozenset({kind}))

    async def run_db(fn, *args, **kwargs):
        with session_factory() as s:
            return fn(s, *args, **kwargs)

    context = SimpleNamespace(services=SimpleNamespace(run_db=run_db))
    update = _update()
    update.effective_chat = SimpleNamespace(id=555)
    router = Router(steps=(step("a", "kind_a"), step("b", "kind_b")))
    await router.on_message(update, context)
    assert asked == []  # nothing pending in this chat: no step is asked, the text goes on
    with session_factory() as s:
        create_pending(s, kind="kind_b", chat_id=556, payload={})  # another chat's step
        s.commit()
    await router.on_message(update, context)
    assert asked == []
    with session_factory() as s:
        create_pending(s, kind="kind_b", chat_id=555, payload={})
        s.commit()
    with pytest.raises(ApplicationHandlerStop):
        await router.on_message(update, context)
    assert asked == ["b", "text b"]
