"""Tests that read like a chat: a `Chat` is one Telegram user talking to the bot through `app.process_update`.

    alice = Chat(app, transport, user_id=1001, first_name="王书记")
    await alice.send_command("register", code)
    assert "注册成功" in alice.last_message.text
    await alice.send_text("街道让我们收医保的钱还要排名")
    await alice.press("记为红牌候选")
    await alice.press("街道办事处")
    assert "已记为红牌候选" in alice.last_message.text

Updates are built as the JSON Telegram would send and parsed with `Update.de_json`, so handlers see exactly
what they would see in production. Everything the bot sends goes through the offline `RecordingRequest`.

The same user writing in a group (where residents read along): `group = alice.in_group(-100123, "东湖村居民群")`;
`group.replies` are then the bot's messages in that group.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Update
from telegram.ext import Application

from tests.telegram_transport import RecordingRequest, SentMessage

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)
_query_ids = itertools.count(1)


class NoSuchButton(AssertionError):
    pass


class Chat:
    """One user in a private chat with the bot (or, with chat_id and chat_type, in a group)."""

    def __init__(self, app: Application, transport: RecordingRequest, user_id: int, first_name: str = "测试用户",
                 username: str | None = None, language_code: str = "zh-hans", *, chat_id: int | None = None,
                 chat_type: str = "private", title: str | None = None) -> None:
        self.app = app
        self.transport = transport
        self.user_id = user_id
        self.chat_id = user_id if chat_id is None else chat_id  # a private chat has the user's id
        self.chat_type = chat_type
        self.title = title
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name,
                                     "language_code": language_code}
        if username:
            self.user["username"] = username
        self.callback_answers: list[dict[str, Any]] = []  # answerCallbackQuery params for this user's presses
        self.sent_by_user: list[dict[str, Any]] = []

    def in_group(self, chat_id: int, title: str = "测试群", chat_type: str = "supergroup") -> Chat:
        """The same user writing in a group chat (ids of groups are negative) that the bot is a member of."""
        if chat_id >= 0 or chat_type not in ("group", "supergroup"):
            raise ValueError("a group chat has a negative id and type 'group' or 'supergroup'")
        return Chat(self.app, self.transport, self.user_id, self.user["first_name"], self.user.get("username"),
                    self.user.get("language_code", "zh-hans"), chat_id=chat_id, chat_type=chat_type, title=title)

    # ------------------------------------------------------------------ what the user does

    async def send_text(self, text: str, **extra: Any) -> list[SentMessage]:
        """Send a text message; returns the bot's new messages to this chat."""
        return await self._deliver(self.text_payload(text, **extra))

    def text_payload(self, text: str, **extra: Any) -> dict[str, Any]:
        """The Bot API update (without its update_id) of this user sending `text`, not delivered."""
        return {"message": self._message(text=text, **extra)}

    def press_payload(self, button: str) -> dict[str, Any]:
        """The Bot API update (without its update_id) of this user pressing `button`, not delivered."""
        target, data = self.find_button(button)
        return self._callback(data, target.to_api(self.transport.bot))

    async def send_command(self, command: str, *args: str) -> list[SentMessage]:
        """Send '/command arg …' with its bot_command entity, as a Telegram client does."""
        command = command.lstrip("/")
        text = "/" + command + ("" if not args else " " + " ".join(args))
        entity = {"type": "bot_command", "offset": 0, "length": len(command) + 1}
        return await self.send_text(text, entities=[entity])

    async def send_photo(self, caption: str | None = None) -> list[SentMessage]:
        photo = [{"file_id": "AgACAgQAAx0", "file_unique_id": "AQAD", "width": 90, "height": 90, "file_size": 900}]
        extra: dict[str, Any] = {"photo": photo}
        if caption is not None:
            extra["caption"] = caption
        return await self._deliver({"message": self._message(**extra)})

    async def send_sticker(self) -> list[SentMessage]:
        sticker = {"file_id": "CAACAgIAAxk", "file_unique_id": "AgAD", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
        return await self._deliver({"message": self._message(sticker=sticker)})

    async def send_voice(self, duration: int = 3) -> list[SentMessage]:
        voice = {"file_id": "AwACAgIAAxk", "file_unique_id": "AgADv", "duration": duration, "mime_type": "audio/ogg"}
        return await self._deliver({"message": self._message(voice=voice)})

    async def send_document(self, file_name: str = "任务.docx", content: bytes | None = None) -> list[SentMessage]:
        """Send a file; with `content`, the bot can download it (getFile) as Telegram would serve it."""
        document: dict[str, Any] = {"file_id": "BQACAgIAAxk", "file_unique_id": "AgADd", "file_name": file_name}
        if content is not None:
            file_id = self.transport.add_file(content)
            document.update(file_id=file_id, file_unique_id=f"u{file_id}", file_size=len(content))
        return await self._deliver({"message": self._message(document=document)})

    async def edit_text(self, message_id: int, text: str, **extra: Any) -> list[SentMessage]:
        """The user edits an earlier message (Telegram sends an `edited_message` update)."""
        message = self._message(text=text, **extra)
        message["message_id"] = message_id
        message["edit_date"] = int(time.time())
        return await self._deliver({"edited_message": message})

    async def press(self, button: str, *, message: SentMessage | None = None) -> list[SentMessage]:
        """Press a button, found by label or callback_data on the newest message that has it
        (or on `message`). Raises NoSuchButton listing the buttons there are."""
        target, data = self.find_button(button, message=message)
        return await self.press_data(data, message=target)

    async def press_data(self, data: str, *, message: SentMessage | None = None,
                         message_id: int | None = None) -> list[SentMessage]:
        """Send a callback query with arbitrary (possibly forged) data, from `message` (default: the bot's last
        message in this chat, or a message id that may not exist)."""
        if message is None and message_id is None:
            message = self.last_message
        if message is not None:
            msg = message.to_api(self.transport.bot)
        else:
            msg = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(),
                   "from": self.transport.bot, "text": "…"}
        return await self._deliver(self._callback(data, msg))

    def _callback(self, data: str, message: dict[str, Any]) -> dict[str, Any]:
        return {"callback_query": {"id": str(next(_query_ids)), "from": self.user,
                                   "chat_instance": f"ci{self.chat_id}", "message": message, "data": data}}

    # ------------------------------------------------------------------ what the user sees

    @property
    def replies(self) -> list[SentMessage]:
        """Every message the bot sent to this chat (current state after edits), oldest first."""
        return self.transport.sent(self.chat_id)

    @property
    def last_message(self) -> SentMessage | None:
        replies = self.replies
        return replies[-1] if replies else None

    @property
    def last_answer(self) -> str | None:
        """The text of the last answerCallbackQuery for this user's presses ('' when answered silently)."""
        if not self.callback_answers:
            return None
        return self.callback_answers[-1].get("text") or ""

    def find_button(self, button: str, *, message: SentMessage | None = None) -> tuple[SentMessage, str]:
        candidates = [message] if message is not None else list(reversed(self.replies))
        for msg in candidates:
            for row in msg.buttons:
                for label, data in row:
                    if data is not None and (label == button or data == button):
                        return msg, data
            if message is None and msg.buttons:
                # Like a user: the newest keyboard first; fall back to older ones only by exact label/data.
                continue
        shown = [lbl for msg in candidates[:3] for lbl in msg.button_labels]
        raise NoSuchButton(f"no button {button!r}; the newest buttons are {shown}")

    def texts(self) -> list[str]:
        return [m.text or (m.caption or "") for m in self.replies]

    # ------------------------------------------------------------------ plumbing

    def _chat(self) -> dict[str, Any]:
        if self.chat_type == "private":
            return {"id": self.chat_id, "type": "private", "first_name": self.user["first_name"]}
        return {"id": self.chat_id, "type": self.chat_type, "title": self.title or "测试群"}

    def _message(self, **fields: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(_message_ids),
            "date": int(time.time()),
            "chat": self._chat(),
            "from": self.user,
        }
        message.update(fields)
        return message

    async def _deliver(self, payload: dict[str, Any]) -> list[SentMessage]:
        before = {(m.chat_id, m.message_id) for m in self.transport.sent(self.chat_id)}
        answers_before = len(self.transport.calls_of("answerCallbackQuery"))
        payload = {"update_id": next(_update_ids), **payload}
        self.sent_by_user.append(payload)
        update = Update.de_json(payload, self.app.bot)
        await self.app.process_update(update)
        for call in self.transport.calls_of("answerCallbackQuery")[answers_before:]:
            if call.ok:  # what the user saw; a refused second answer shows nothing
                self.callback_answers.append(call.params)
        return [m for m in self.transport.sent(self.chat_id) if (m.chat_id, m.message_id) not in before]


def make_update(app: Application, payload: dict[str, Any]) -> Update:
    """An Update from Bot API JSON (for tests that build their own)."""
    return Update.de_json({"update_id": next(_update_ids), **payload}, app.bot)


__all__ = ["Chat", "NoSuchButton", "make_update"]
