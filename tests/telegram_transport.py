"""An offline Bot API for tests and benchmarks, plugged in through python-telegram-bot's public `BaseRequest` seam.

    transport = RecordingRequest()
    app = build_application(settings, request=transport, ...)

It answers Bot API methods the way Telegram does (well-formed objects, incrementing message ids per chat), records
every call, and enforces Telegram's limits with the real server's error answers, so PTB raises the same
`telegram.error.BadRequest` a deployed bot would get:

- inline button callback_data must be 1-64 UTF-8 bytes             -> 400 "Bad Request: BUTTON_DATA_INVALID"
- message text at most 4096 characters after entity parsing,
  counted in UTF-16 code units as Telegram does                     -> 400 "Bad Request: message is too long"
- text empty (after parsing and trimming)                           -> 400 "Bad Request: message text is empty"
- caption at most 1024                                              -> 400 "Bad Request: message caption is too long"
- answerCallbackQuery text at most 200 characters                   -> 400 "Bad Request: MESSAGE_TOO_LONG"
- answering the same callback query twice                           -> 400 "Bad Request: query is too old ..."
- editing to the same text and keyboard                             -> 400 "Bad Request: message is not modified ..."
- editing/deleting a message that does not exist                    -> 400 "Bad Request: message to edit not found"
- setMyCommands: 1-32 chars [a-z0-9_], description 1-256, at most 100 -> 400 "Bad Request: BOT_COMMAND_INVALID"

Failures can be injected: `transport.fail_next("sendMessage", status=429, retry_after=1)` answers the next such
call with Telegram's flood-wait reply; `transport.unsupported.add("setMyCommands")` answers 500 as
telegram-test-api does for methods it lacks.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7000000001
BOT_USERNAME = "cadrebot_test_bot"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER = 200
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class TelegramRefusal(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts message length and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class _HTMLText(HTMLParser):
    """The visible text of a message sent with parse_mode=HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text after entity parsing: markup removed, as Telegram measures it."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        parser = _HTMLText()
        parser.feed(text)
        parser.close()
        return "".join(parser.parts)
    if mode == "markdownv2":
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        text = re.sub(r"(?<!\\)[*_~|`]", "", text)
        return re.sub(r"\\(.)", r"\1", text)
    if mode == "markdown":
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        return re.sub(r"[*_`]", "", text)
    return text


@dataclass
class Call:
    """One Bot API request as the bot made it."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class SentMessage:
    """A message the bot sent (its current state, after any edits)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    kind: str = "text"  # text | document | photo
    caption: str | None = None
    document: tuple[str, bytes, str] | None = None
    edits: int = 0
    deleted: bool = False
    parse_mode: str | None = None

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Rows of (label, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data") or b.get("url")) for b in row] for row in rows]

    @property
    def button_labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    def to_api(self, bot: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": _chat(self.chat_id),
            "from": bot,
        }
        if self.kind == "text":
            message["text"] = self.text
        elif self.kind == "document" and self.document is not None:
            message["document"] = {
                "file_id": f"doc{self.message_id}",
                "file_unique_id": f"udoc{self.message_id}",
                "file_name": self.document[0],
                "mime_type": self.document[2],
                "file_size": len(self.document[1]),
            }
        elif self.kind == "photo":
            message["photo"] = [
                {"file_id": f"ph{self.message_id}", "file_unique_id": f"uph{self.message_id}", "width": 800, "height": 600}
            ]
        if self.caption:
            message["caption"] = self.caption
        if self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"group{chat_id}"}


class RecordingRequest(BaseRequest):
    """Offline Bot API: answers like Telegram, records every call, enforces Telegram's limits."""

    def __init__(self, *, latency: float = 0.0, bot_id: int = BOT_ID, bot_username: str = BOT_USERNAME,
                 record: bool = True) -> None:
        self.latency = latency
        self.record = record
        self.bot = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "政社互动助手",
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.commands: list[dict[str, Any]] | None = None
        self.unsupported: set[str] = set()
        self._failures: dict[str, list[tuple[int, str, dict[str, Any] | None]]] = defaultdict(list)
        self._next_id: dict[int, int] = defaultdict(lambda: 1000)
        self._answered: set[str] = set()
        self.updates: list[dict[str, Any]] = []  # served by getUpdates, then forgotten
        self.files: dict[str, bytes] = {}  # what users uploaded (add_file), served by getFile and its download

    # ------------------------------------------------------------------ BaseRequest

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        api_method = url.rstrip("/").rsplit("/", 1)[-1]
        if "/file/bot" in url:  # a file's download (File.download_*), not a Bot API method
            content = self.files.get(api_method)
            return (200, content) if content is not None else (404, b'{"ok":false,"error_code":404}')
        params = dict(request_data.parameters) if request_data else {}
        files: dict[str, tuple[str, bytes, str]] = {}
        if request_data is not None and request_data.contains_files:
            for name, value in request_data.multipart_data.items():
                filename, content, mime = value
                if hasattr(content, "read"):
                    content = content.read()
                files[name] = (filename, bytes(content), mime)
        call = Call(api_method, params, files)
        if self.record:
            self.calls.append(call)
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            result = self._answer(api_method, params, files)
        except TelegramRefusal as refusal:
            call.ok, call.error = False, refusal.description
            body: dict[str, Any] = {"ok": False, "error_code": refusal.status, "description": refusal.description}
            if refusal.parameters:
                body["parameters"] = refusal.parameters
            return refusal.status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()

    # ------------------------------------------------------------------ test controls

    def fail_next(self, method: str, *, status: int = 429, retry_after: int | None = None,
                  description: str | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with an error (429 flood wait by default)."""
        parameters = None
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
            parameters = {"retry_after": retry_after}
        for _ in range(times):
            self._failures[method].append((status, description or "Internal Server Error", parameters))

    def add_file(self, content: bytes) -> str:
        """A file a user uploads (e.g. a document they send): its file_id, for getFile and the download."""
        file_id = f"upl{len(self.files) + 1}"
        self.files[file_id] = bytes(content)
        return file_id

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent (to one chat), oldest first, as they are now."""
        messages = [m for m in self.messages.values() if chat_id is None or m.chat_id == chat_id]
        return sorted(messages, key=lambda m: (m.chat_id, m.message_id))

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        self.calls.clear()

    # ------------------------------------------------------------------ the API

    def _answer(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        if method in self.unsupported:
            raise TelegramRefusal(500, "Internal Server Error")
        failures = self._failures.get(method)
        if failures:
            status, description, parameters = failures.pop(0)
            raise TelegramRefusal(status, description, parameters)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise TelegramRefusal(404, "Not Found: method not found")
        return handler(params, files)

    def _api_getMe(self, params: dict, files: dict) -> Any:
        return self.bot

    def _api_logOut(self, params: dict, files: dict) -> Any:
        return True

    def _api_getUpdates(self, params: dict, files: dict) -> Any:
        offset = int(params.get("offset") or 0)
        pending = [u for u in self.updates if u["update_id"] >= offset]
        self.updates = pending
        return pending[: int(params.get("limit") or 100)]

    def _api_deleteWebhook(self, params: dict, files: dict) -> Any:
        return True

    def _api_setWebhook(self, params: dict, files: dict) -> Any:
        return True

    def _api_getWebhookInfo(self, params: dict, files: dict) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    def _api_setMyCommands(self, params: dict, files: dict) -> Any:
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not isinstance(commands, list) or len(commands) > 100:
            raise TelegramRefusal(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not COMMAND_RE.match(str(command.get("command", ""))):
                raise TelegramRefusal(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise TelegramRefusal(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        return True

    def _api_getMyCommands(self, params: dict, files: dict) -> Any:
        return self.commands or []

    def _api_deleteMyCommands(self, params: dict, files: dict) -> Any:
        self.commands = None
        return True

    def _api_getFile(self, params: dict, files: dict) -> Any:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise TelegramRefusal(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}"}

    def _api_sendChatAction(self, params: dict, files: dict) -> Any:
        return True

    def _api_sendMessage(self, params: dict, files: dict) -> Any:
        chat_id = _chat_id(params)
        text = self._checked_text(params.get("text"), params.get("parse_mode"))
        markup = self._checked_markup(params.get("reply_markup"))
        return self._store(SentMessage(chat_id, self._new_id(chat_id), text, markup,
                                       parse_mode=params.get("parse_mode")))

    def _api_sendDocument(self, params: dict, files: dict) -> Any:
        return self._send_media(params, files, "document")

    def _api_sendPhoto(self, params: dict, files: dict) -> Any:
        return self._send_media(params, files, "photo")

    def _send_media(self, params: dict, files: dict, kind: str) -> Any:
        chat_id = _chat_id(params)
        caption = params.get("caption")
        if caption is not None:
            visible = visible_text(str(caption), params.get("parse_mode")).strip()
            if utf16_len(visible) > MAX_CAPTION:
                raise TelegramRefusal(400, "Bad Request: message caption is too long")
        upload = files.get(kind)
        if upload is None and not params.get(kind):
            raise TelegramRefusal(400, f"Bad Request: there is no {kind} in the request")
        markup = self._checked_markup(params.get("reply_markup"))
        message = SentMessage(chat_id, self._new_id(chat_id), "", markup, kind=kind, caption=caption,
                              document=upload)
        return self._store(message)

    def _api_editMessageText(self, params: dict, files: dict) -> Any:
        message = self._existing(params)
        text = self._checked_text(params.get("text"), params.get("parse_mode"))
        markup = self._checked_markup(params.get("reply_markup"))
        if message.kind != "text":
            raise TelegramRefusal(400, "Bad Request: there is no text in the message to edit")
        if text == message.text and markup == message.reply_markup:
            raise TelegramRefusal(400, "Bad Request: message is not modified: specified new message content and "
                                       "reply markup are exactly the same as a current content and reply markup "
                                       "of the message")
        message.text, message.reply_markup, message.edits = text, markup, message.edits + 1
        return message.to_api(self.bot)

    def _api_editMessageReplyMarkup(self, params: dict, files: dict) -> Any:
        message = self._existing(params)
        markup = self._checked_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise TelegramRefusal(400, "Bad Request: message is not modified: specified new message content and "
                                       "reply markup are exactly the same as a current content and reply markup "
                                       "of the message")
        message.reply_markup, message.edits = markup, message.edits + 1
        return message.to_api(self.bot)

    def _api_deleteMessage(self, params: dict, files: dict) -> Any:
        message = self._existing(params, verb="delete")
        message.deleted = True
        del self.messages[(message.chat_id, message.message_id)]
        return True

    def _api_answerCallbackQuery(self, params: dict, files: dict) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if not query_id:
            raise TelegramRefusal(400, "Bad Request: QUERY_ID_INVALID")
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER:
            raise TelegramRefusal(400, "Bad Request: MESSAGE_TOO_LONG")
        if query_id in self._answered:
            raise TelegramRefusal(400, "Bad Request: query is too old and response timeout expired or query ID "
                                       "is invalid")
        self._answered.add(query_id)
        return True

    # ------------------------------------------------------------------ helpers

    def _new_id(self, chat_id: int) -> int:
        self._next_id[chat_id] += 1
        return self._next_id[chat_id]

    def _store(self, message: SentMessage) -> dict[str, Any]:
        self.messages[(message.chat_id, message.message_id)] = message
        return message.to_api(self.bot)

    def _existing(self, params: dict, verb: str = "edit") -> SentMessage:
        if params.get("inline_message_id"):
            raise TelegramRefusal(400, "Bad Request: MESSAGE_ID_INVALID")
        key = (_chat_id(params), int(params.get("message_id") or 0))
        message = self.messages.get(key)
        if message is None:
            raise TelegramRefusal(400, f"Bad Request: message to {verb} not found")
        return message

    @staticmethod
    def _checked_text(text: Any, parse_mode: str | None) -> str:
        if text is None:
            raise TelegramRefusal(400, "Bad Request: message text is empty")
        text = str(text)
        try:
            visible = visible_text(text, parse_mode)
        except Exception as exc:  # any markup error is a 400, as Telegram answers
            raise TelegramRefusal(400, f"Bad Request: can't parse entities: {exc}") from exc
        if not visible.strip():
            raise TelegramRefusal(400, "Bad Request: message text is empty")
        if utf16_len(visible.strip()) > MAX_TEXT:
            raise TelegramRefusal(400, "Bad Request: message is too long")
        return text

    @staticmethod
    def _checked_markup(markup: Any) -> dict[str, Any] | None:
        if markup is None:
            return None
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup  # reply keyboards, ForceReply ...
        for row in rows:
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise TelegramRefusal(400, "Bad Request: BUTTON_TEXT_INVALID")
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise TelegramRefusal(400, "Bad Request: BUTTON_DATA_INVALID")
                elif not any(k in button for k in ("url", "switch_inline_query", "switch_inline_query_current_chat",
                                                   "web_app", "login_url", "pay", "callback_game", "copy_text",
                                                   "switch_inline_query_chosen_chat")):
                    raise TelegramRefusal(400, "Bad Request: can't parse inline keyboard button: Text buttons are "
                                               "unallowed in the inline keyboard")
        return markup


def _chat_id(params: dict[str, Any]) -> int:
    try:
        return int(params.get("chat_id"))
    except (TypeError, ValueError) as exc:
        raise TelegramRefusal(400, "Bad Request: chat not found") from exc


__all__ = ["BOT_ID", "BOT_USERNAME", "Call", "RecordingRequest", "SentMessage", "utf16_len", "visible_text"]
