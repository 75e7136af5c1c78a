"""Telegram's outgoing limits (bot.outgoing_limits), driven through PTB's rate-limiter seam with a recording
callback in place of the HTTP call. Timings have wide margins: the machine may be loaded; what is asserted is
order and who waits behind whom, not milliseconds."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.outgoing_limits import MAX_CHATS, OutgoingLimits

PRIVATE_A, PRIVATE_B, GROUP = 101, 202, -100123


class Telegram:
    """Records when each call reached 'Telegram'; answers 429 to the calls it is told to refuse."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, float]] = []  # (method, chat or text, time)
        self.refuse: dict[Any, int] = {}  # chat -> retry_after of its next call

    async def post(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        label = data.get("text", data.get("chat_id"))
        self.calls.append((endpoint, label, time.monotonic()))
        seconds = self.refuse.pop(data.get("chat_id"), None)
        if seconds is not None:
            raise RetryAfter(seconds)
        return {"ok": True}

    def times(self, label: Any) -> list[float]:
        return [at for _, lbl, at in self.calls if lbl == label]


async def call(limits: OutgoingLimits, telegram: Telegram, endpoint: str, **data: Any) -> Any:
    return await limits.process_request(callback=telegram.post, args=(endpoint, data), kwargs={},
                                        endpoint=endpoint, data=data, rate_limit_args=None)


async def test_a_chat_waiting_for_its_slot_does_not_hold_up_another_chat():
    limits, telegram = OutgoingLimits(), Telegram()
    queued = [asyncio.create_task(call(limits, telegram, "sendMessage", chat_id=PRIVATE_A, text=f"A{n}"))
              for n in range(5)]
    await asyncio.sleep(0.05)  # A's first message is out, the other four wait for their seconds
    asked = time.monotonic()
    await call(limits, telegram, "sendMessage", chat_id=PRIVATE_B, text="B")
    b_waited = time.monotonic() - asked
    await asyncio.gather(*queued)

    sent_a = [label for _, label, _ in telegram.calls if str(label).startswith("A")]
    assert sent_a == ["A0", "A1", "A2", "A3", "A4"]  # in the order they were sent
    a_times = [telegram.times(f"A{n}")[0] for n in range(5)]
    assert all(later - earlier >= 0.9 for earlier, later in pairwise(a_times))  # 1 per second
    [b_time] = telegram.times("B")
    assert b_time < a_times[1]  # B went out before A's second message, not behind A's queue
    assert b_waited < 0.8


async def test_a_group_gets_at_most_its_per_minute_count():
    limits, telegram = OutgoingLimits(chat_interval=0, group_max=3, group_period=1.5), Telegram()
    await asyncio.gather(*(call(limits, telegram, "sendMessage", chat_id=GROUP, text=f"G{n}") for n in range(5)))
    times = [telegram.times(f"G{n}")[0] for n in range(5)]
    assert times == sorted(times)
    assert times[2] - times[0] < 1.0  # the first three at once
    assert times[3] - times[0] >= 1.4 and times[4] - times[1] >= 1.4  # then one as each leaves the window


async def test_the_defaults_are_telegrams_limits():
    limits = OutgoingLimits(max_retries=3)
    assert (limits.chat_interval, limits.group_max, limits.group_period) == (1.0, 20, 60.0)
    assert (limits.overall_max, limits.overall_period, limits.max_retries) == (30, 1.0, 3)


async def test_at_most_30_messages_a_second_overall():
    limits, telegram = OutgoingLimits(), Telegram()
    await asyncio.gather(*(call(limits, telegram, "sendMessage", chat_id=1000 + n, text=f"M{n}")
                           for n in range(35)))
    times = sorted(at for _, _, at in telegram.calls)
    assert len(times) == 35
    assert times[29] - times[0] < 0.9  # thirty different chats at once
    assert all(times[n + 30] - times[n] >= 0.95 for n in range(5))  # never 31 in one second


async def test_a_429_pauses_only_its_chat_and_is_retried():
    limits, telegram = OutgoingLimits(max_retries=3), Telegram()
    telegram.refuse[PRIVATE_A] = 1
    a = asyncio.create_task(call(limits, telegram, "sendMessage", chat_id=PRIVATE_A, text="A"))
    await asyncio.sleep(0.05)
    asked = time.monotonic()
    await call(limits, telegram, "sendMessage", chat_id=PRIVATE_B, text="B")
    assert time.monotonic() - asked < 0.8  # B is not paused by A's 429
    assert await a == {"ok": True}
    refused, retried = telegram.times("A")
    assert retried - refused >= 1.0  # waited what Telegram asked


async def test_a_429_is_raised_once_the_retries_are_used_up_and_calls_without_a_chat_are_retried_too():
    limits, telegram = OutgoingLimits(max_retries=0), Telegram()
    telegram.refuse[PRIVATE_A] = 1
    with pytest.raises(RetryAfter):
        await call(limits, telegram, "sendMessage", chat_id=PRIVATE_A, text="A")
    limits = OutgoingLimits(max_retries=1)
    telegram.refuse[None] = 1  # answerCallbackQuery names no chat
    assert await call(limits, telegram, "answerCallbackQuery", callback_query_id="q") == {"ok": True}
    assert len(telegram.times(None)) == 2


async def test_an_edit_keeps_its_chats_order_but_does_not_wait_for_a_message_slot():
    limits, telegram = OutgoingLimits(), Telegram()
    start = time.monotonic()
    await asyncio.gather(call(limits, telegram, "sendMessage", chat_id=PRIVATE_A, text="question"),
                         call(limits, telegram, "editMessageText", chat_id=PRIVATE_A, text="edited"))
    assert [label for _, label, _ in telegram.calls] == ["question", "edited"]
    assert telegram.times("edited")[0] - start < 0.8
    await call(limits, telegram, "sendMessage", chat_id=PRIVATE_A, text="next")
    assert telegram.times("next")[0] - telegram.times("question")[0] >= 0.9  # messages still 1 per second


async def test_idle_chats_are_forgotten():
    limits, telegram = OutgoingLimits(chat_interval=0, overall_max=0), Telegram()
    for n in range(3 * MAX_CHATS):
        await call(limits, telegram, "sendMessage", chat_id=n + 1, text="x")
    assert len(limits._chats) <= MAX_CHATS
