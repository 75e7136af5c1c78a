"""Telegram's outgoing limits, kept on the way out: a `BaseRateLimiter` for python-telegram-bot.

    app = ApplicationBuilder().rate_limiter(OutgoingLimits(max_retries=3))...

Telegram allows a bot about 1 message per second in one chat, 20 messages per minute in one group and 30 per
second overall; past them it answers 429 RetryAfter. PTB's AIORateLimiter has no per-chat limit and pauses every
chat after any 429. Here:

- each chat has its own FIFO queue: a chat waiting for its next slot (or paused by a 429) holds up only itself,
  and its messages keep their order;
- a message-sending call (send*, copy*, forward*) waits for its chat's slot: 1 second after the chat's previous
  message was answered, and in a group also fewer than 20 messages in the last 60 seconds;
- then every call naming a chat waits for a slot of the overall 30 per second (as in AIORateLimiter), taken in
  the order the chats became ready;
- a 429 RetryAfter pauses that chat for the time Telegram asked (+0.1 s) and the call is retried, at most
  `max_retries` times; a call naming no chat (answerCallbackQuery) only sleeps and retries.

Edits, deletes and chat actions are not new messages: they keep their chat's order and the overall limit but do
not use up the chat's message slots (a survey press edits one message and sends the next question).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import constants
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

CHAT_INTERVAL = 1.0  # seconds between two messages in one chat
GROUP_MAX = constants.FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP  # 20 ...
GROUP_PERIOD = 60.0  # ... per minute in one group
OVERALL_MAX = constants.FloodLimit.MESSAGES_PER_SECOND  # 30 ...
OVERALL_PERIOD = 1.0  # ... per second for the whole bot
RETRY_MARGIN = 0.1  # on top of Telegram's retry_after, as AIORateLimiter does
MAX_CHATS = 1024  # idle chats beyond this are forgotten (their limits have long passed)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def sends_message(endpoint: str) -> bool:
    """Whether a Bot API method puts a new message in the chat (what the per-chat limits count)."""
    return endpoint.startswith(("send", "copy", "forward")) and endpoint != "sendChatAction"


def chat_key(chat_id: Any) -> tuple[int | str, bool]:
    """The chat a call goes to, and whether it is a group or channel (negative id or @username)."""
    with contextlib.suppress(TypeError, ValueError):
        chat_id = int(chat_id)
    if isinstance(chat_id, int):
        return chat_id, chat_id < 0
    return str(chat_id), True


@dataclass
class _Chat:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # calls holding or waiting for the lock: a chat with none can be forgotten
    next_message: float = 0.0  # earliest time of the chat's next message
    paused_until: float = 0.0  # a 429's pause: every call of the chat waits for it
    sent: deque[float] = field(default_factory=deque)  # a group's recent message times


class OutgoingLimits(BaseRateLimiter[int]):
    """Per-chat FIFO queues under Telegram's per-chat, per-group and overall limits; retries 429 RetryAfter."""

    def __init__(self, *, max_retries: int = 0, chat_interval: float = CHAT_INTERVAL, group_max: int = GROUP_MAX,
                 group_period: float = GROUP_PERIOD, overall_max: int = OVERALL_MAX,
                 overall_period: float = OVERALL_PERIOD, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_retries = max_retries
        self.chat_interval = chat_interval
        self.group_max = group_max
        self.group_period = group_period
        self.overall_max = overall_max
        self.overall_period = overall_period
        self._clock = clock
        self._chats: dict[int | str, _Chat] = {}
        self._scan_at = MAX_CHATS  # chat count that triggers the next scan for idle chats (amortised)
        self._overall: deque[float] = deque()
        self._overall_lock = asyncio.Lock()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        """Send one Bot API call when its chat's and the bot's limits allow; retry it after a 429."""
        retries = rate_limit_args or self.max_retries  # as AIORateLimiter: a per-call count overrides
        if data.get("chat_id") is None:
            return await self._retrying(callback, args, kwargs, retries, None, False, False)
        key, group = chat_key(data["chat_id"])
        chat = self._chats.get(key)
        if chat is None:
            self._forget_idle()
            chat = self._chats[key] = _Chat()
        chat.users += 1
        try:
            async with chat.lock:  # the chat's calls go out one at a time, in the order they were made
                return await self._retrying(callback, args, kwargs, retries, chat, group, sends_message(endpoint))
        finally:
            chat.users -= 1

    async def _retrying(self, callback: Callable[..., Coroutine[Any, Any, JSON]], args: Any,
                        kwargs: dict[str, Any], retries: int, chat: _Chat | None, group: bool,
                        message: bool) -> JSON:
        for attempt in range(retries + 1):
            if chat is not None:
                await self._chat_slot(chat, group, message)
                await self._overall_slot()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    log.warning("Telegram still asks to wait after %d retries: %s", retries, exc)
                    raise
                # `_retry_after` is the timedelta; the public attribute warns about its coming type change.
                pause = exc._retry_after.total_seconds() + RETRY_MARGIN
                log.info("Telegram asked to wait %.1f s; retrying then", pause)
                if chat is None:
                    await asyncio.sleep(pause)
                else:
                    chat.paused_until = max(chat.paused_until, self._clock() + pause)
            finally:
                if chat is not None and message:
                    self._sent(chat, group)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _chat_slot(self, chat: _Chat, group: bool, message: bool) -> None:
        """Wait out a 429's pause, and for a message the chat's spacing and a group's per-minute count."""
        while True:
            now = self._clock()
            ready = chat.paused_until
            if message:
                ready = max(ready, chat.next_message)
                if group and self.group_max > 0:
                    while chat.sent and chat.sent[0] <= now - self.group_period:
                        chat.sent.popleft()
                    if len(chat.sent) >= self.group_max:
                        ready = max(ready, chat.sent[0] + self.group_period)
            if ready <= now:
                return
            await asyncio.sleep(ready - now)

    async def _overall_slot(self) -> None:
        """Take one of the bot's `overall_max` calls per `overall_period`, first come first served."""
        if self.overall_max <= 0:
            return
        async with self._overall_lock:
            while True:
                now = self._clock()
                while self._overall and self._overall[0] <= now - self.overall_period:
                    self._overall.popleft()
                if len(self._overall) < self.overall_max:
                    self._overall.append(now)
                    return
                await asyncio.sleep(self._overall[0] + self.overall_period - now)

    def _sent(self, chat: _Chat, group: bool) -> None:
        # Counted from when Telegram answered: the next message cannot reach it less than an interval later.
        now = self._clock()
        chat.next_message = now + self.chat_interval
        if group and self.group_max > 0:
            chat.sent.append(now)

    def _forget_idle(self) -> None:
        if len(self._chats) < self._scan_at:
            return
        now = self._clock()
        quiet = max(self.chat_interval, self.group_period)
        for key in [k for k, c in self._chats.items()
                    if not c.users and c.paused_until <= now and (not c.sent or c.sent[-1] <= now - quiet)
                    and c.next_message <= now]:
            del self._chats[key]
        # Many chats busy at once (a digest to thousands): scan again only once their number has doubled.
        self._scan_at = max(MAX_CHATS, 2 * len(self._chats))


__all__ = ["OutgoingLimits", "chat_key", "sends_message"]
