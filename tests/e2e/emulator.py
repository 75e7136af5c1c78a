"""The bot side and the user side of the end-to-end tests against telegram-test-api 4.2.1.

Bot side: `EmulatorRequest`, an `HTTPXRequest` that sends every request to the emulator unchanged and corrects
the emulator's known deviations from the Bot API in its REPLIES only. It never answers a request itself.

    getMe lacks is_bot                                    -> is_bot: true added
    sendMessage returns `date` in milliseconds            -> seconds (any message in a reply or an update)
    callback-query updates lack chat_instance             -> chat_instance derived from the chat id
    editMessageText / editMessageReplyMarkup return null  -> true (what Telegram returns when it sends no Message)
    answerCallbackQuery returns null                      -> true
    methods it lacks (setMyCommands …) answer HTTP 500    -> passed through: the app must cope
    it does not enforce the 64-byte callback_data limit   -> checked on the way out: a violation is recorded
                                                             and raised, and the bot fixture fails the test

Every request and its status is kept in `wire` (method, parameters, HTTP status), so a test can see what went
over HTTP, e.g. the text of a callback answer, which the emulator does not store.

User side: `EmulatorUser` speaks the emulator's client API (POST /sendMessage, /sendCommand, /sendCallback,
/getUpdatesHistory) as a real user would: send text and commands, press buttons, read the bot's messages.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram.request import HTTPXRequest, RequestData

MAX_CALLBACK_DATA_BYTES = 64
MS_THRESHOLD = 100_000_000_000  # a Unix time above this is in milliseconds (year 5138 in seconds)
NULL_MEANS_TRUE = ("editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "deleteMessage")


class CallbackDataTooLong(AssertionError):
    """The bot sent callback_data that Telegram would refuse (the emulator would accept it)."""


@dataclass
class WireCall:
    method: str
    params: dict[str, Any]
    status: int | None = None


class EmulatorRequest(HTTPXRequest):
    """PTB's HTTPX transport, with the emulator's reply deviations corrected (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wire: list[WireCall] = []
        self.violations: list[str] = []

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rstrip("/").rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        call = WireCall(api_method, params)
        self.wire.append(call)
        self._check_outgoing(api_method, params)
        code, payload = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        call.status = code
        if not 200 <= code <= 299:
            return code, payload
        return code, correct_reply(api_method, payload)

    def _check_outgoing(self, api_method: str, params: dict[str, Any]) -> None:
        for data in callback_data_of(params.get("reply_markup")):
            size = len(data.encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                problem = f"{api_method}: callback_data of {size} bytes (Telegram allows 1-64): {data!r}"
                self.violations.append(problem)
                raise CallbackDataTooLong(problem)

    def calls(self, method: str) -> list[WireCall]:
        return [c for c in self.wire if c.method == method]


def callback_data_of(markup: Any) -> list[str]:
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return []
    if not isinstance(markup, dict):
        return []
    return [
        str(button["callback_data"])
        for row in markup.get("inline_keyboard") or []
        for button in row
        if isinstance(button, dict) and "callback_data" in button
    ]


def correct_reply(api_method: str, payload: bytes) -> bytes:
    """The emulator's reply to `api_method`, with its known deviations from the Bot API corrected."""
    try:
        body = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(body, dict) or not body.get("ok"):
        return payload
    result = body.get("result")
    if api_method == "getMe" and isinstance(result, dict):
        result.setdefault("is_bot", True)
    elif api_method == "getUpdates" and isinstance(result, list):
        for update in result:
            _correct_update(update)
    elif api_method in NULL_MEANS_TRUE and result is None:
        body["result"] = True
    if isinstance(result, dict) and "message_id" in result:
        _correct_message(result)
    return json.dumps(body, ensure_ascii=False).encode()


def _correct_message(message: Any) -> None:
    if not isinstance(message, dict):
        return
    date = message.get("date")
    if isinstance(date, (int, float)) and date > MS_THRESHOLD:
        message["date"] = int(date // 1000)
    for key in ("reply_to_message", "pinned_message"):
        _correct_message(message.get(key))


def _correct_update(update: Any) -> None:
    if not isinstance(update, dict):
        return
    for key in ("message", "edited_message"):
        _correct_message(update.get(key))
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        _correct_message(message)
        if "chat_instance" not in query:
            chat = (message or {}).get("chat") or {}
            query["chat_instance"] = str(chat.get("id") or (query.get("from") or {}).get("id") or 0)


# ---------------------------------------------------------------------------------------------- the user side


@dataclass
class BotMessage:
    """A message the bot sent to the user's chat, as the emulator stores it now (after edits)."""

    message_id: int
    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)

    @property
    def button_labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]


class NoSuchButton(AssertionError):
    pass


class EmulatorUser:
    """One Telegram user in a private chat with the bot, driving the emulator's client API over HTTP."""

    def __init__(self, http: httpx.AsyncClient, token: str, user_id: int, first_name: str,
                 bot_user: dict[str, Any] | None = None) -> None:
        self.http = http
        self.token = token
        self.user_id = user_id
        self.chat_id = user_id
        self.first_name = first_name
        self.bot_user = bot_user or {"id": 666, "is_bot": True, "first_name": "Bot", "username": "TestNameBot"}

    # ------------------------------------------------------------------ acting

    def _common(self) -> dict[str, Any]:
        user = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        chat = {"id": self.chat_id, "type": "private", "first_name": self.first_name}
        return {"botToken": self.token, "date": int(time.time()), "from": user, "chat": chat}

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    async def send_text(self, text: str) -> None:
        await self._post("/sendMessage", {**self._common(), "text": text})

    async def send_command(self, command: str, *args: str) -> None:
        command = command.lstrip("/")
        text = "/" + command + ("" if not args else " " + " ".join(args))
        entities = [{"type": "bot_command", "offset": 0, "length": len(command) + 1}]
        await self._post("/sendCommand", {**self._common(), "text": text, "entities": entities})

    async def press(self, label: str, *, message: BotMessage | None = None) -> BotMessage:
        """Press the button `label` on `message`, or on the newest message that has it."""
        candidates = [message] if message is not None else list(reversed(await self.messages()))
        for candidate in candidates:
            for row in candidate.buttons:
                for text, data in row:
                    if text == label:
                        await self.press_data(data, candidate)
                        return candidate
        shown = [m.button_labels for m in candidates[:3]]
        raise NoSuchButton(f"no button {label!r}; the newest keyboards are {shown}")

    async def press_data(self, data: str, message: BotMessage) -> None:
        common = self._common()
        shown = {"message_id": message.message_id, "date": common["date"], "chat": common["chat"],
                 "from": self.bot_user, "text": message.text}
        await self._post("/sendCallback", {"botToken": self.token, "date": common["date"], "from": common["from"],
                                           "message": shown, "data": data})

    # ------------------------------------------------------------------ seeing

    async def messages(self) -> list[BotMessage]:
        """Every message the bot sent to this chat, oldest first, with its current text and keyboard."""
        body = await self._post("/getUpdatesHistory", {"token": self.token})
        found: list[BotMessage] = []
        for item in body.get("result") or []:
            message = item.get("message") or {}
            if "chat_id" not in message or str(message.get("chat_id")) != str(self.chat_id):
                continue  # a user's update, or another chat
            markup = message.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            rows = (markup or {}).get("inline_keyboard") or []
            buttons = [[(b.get("text", ""), b.get("callback_data", "")) for b in row] for row in rows]
            found.append(BotMessage(int(item["messageId"]), str(message.get("text") or ""), buttons))
        return sorted(found, key=lambda m: m.message_id)

    async def wait_for(self, predicate: Callable[[list[BotMessage]], bool], *,
                       before: dict[int, tuple[str, list[str]]] | None = None,
                       timeout: float = 15.0, settle: float = 0.1) -> list[BotMessage]:
        """Wait until the bot's messages that are new or changed since `before` (message id -> text and
        buttons; None: all) satisfy `predicate`, then a short quiet time so that a reply in several messages
        has arrived; returns those messages, oldest first."""
        before = before or {}

        async def changed() -> list[BotMessage]:
            return [m for m in await self.messages()
                    if before.get(m.message_id) != (m.text, m.button_labels)]

        deadline = time.monotonic() + timeout
        new: list[BotMessage] = []
        while time.monotonic() < deadline:
            new = await changed()
            if predicate(new):
                await asyncio.sleep(settle)
                return await changed()
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bot did not answer as expected within {timeout} s; it sent {[m.text for m in new]}")

    async def says(self, action: Any, *, count: int = 1, contains: str | None = None,
                   timeout: float = 15.0) -> list[BotMessage]:
        """Do `action` (an awaitable that sends something) and return the bot's messages that are new or were
        edited since, waiting for at least `count` of them (and one containing `contains`, if given)."""
        before = {m.message_id: (m.text, m.button_labels) for m in await self.messages()}
        await action

        def ready(new: list[BotMessage]) -> bool:
            if len(new) < count:
                return False
            return contains is None or any(contains in m.text for m in new)

        return await self.wait_for(ready, before=before, timeout=timeout)


__all__ = ["BotMessage", "CallbackDataTooLong", "EmulatorRequest", "EmulatorUser", "WireCall", "correct_reply"]
