"""A Bot API over real HTTP for testing `cadrebot run` as a process: the offline RecordingRequest's answers
(same objects, same limits) served by a small threaded HTTP server, plus a queue of updates for getUpdates.

    with FakeBotApi() as api:                     # api.url -> TELEGRAM_API_BASE_URL
        api.push_message(user_id=42, text="…")
        api.wait_for(lambda: api.sent(42))
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.telegram_transport import RecordingRequest, TelegramRefusal


class FakeBotApi:
    def __init__(self) -> None:
        self.transport = RecordingRequest()
        self.lock = threading.Lock()
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1
        self.webhook: dict[str, Any] | None = None
        self.tokens_seen: set[str] = set()
        # When each chat got its first message from the bot (time.monotonic()), for latency figures.
        self.first_sent_at: dict[int, float] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = self.path.strip("/").split("/")
                if len(parts) != 2 or not parts[0].startswith("bot"):
                    self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                api.tokens_seen.add(parts[0][3:])
                params = api._params(self.headers.get("Content-Type", ""), body)
                status, payload = api.answer(parts[1], params)
                self._reply(status, payload)

            do_GET = do_POST

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client killed mid-request (the fault tests' SIGKILL) is expected, not worth a traceback

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _params(content_type: str, body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        if "json" in content_type:
            return json.loads(body)
        params: dict[str, Any] = {}
        for key, value in parse_qsl(body.decode(), keep_blank_values=True):
            try:  # PTB form-encodes each parameter as JSON, strings raw
                params[key] = json.loads(value) if key != "text" else value
            except ValueError:
                params[key] = value
        return params

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if method == "getUpdates":
                # Telegram's semantics: asking for offset N confirms (forgets) every update below N; at most
                # `limit` (default and maximum 100) are returned.
                offset = int(params.get("offset") or 0)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                pending = self.updates[: max(1, min(100, int(params.get("limit") or 100)))]
            elif method == "setWebhook":
                self.webhook = dict(params)
                return 200, {"ok": True, "result": True}
            elif method == "deleteWebhook":
                self.webhook = None
                return 200, {"ok": True, "result": True}
            else:
                pending = None
        if pending is not None:
            if not pending:
                time.sleep(0.05)
            return 200, {"ok": True, "result": pending}
        with self.lock:
            try:
                result = self.transport._answer(method, params, {})
            except TelegramRefusal as refusal:
                return refusal.status, {"ok": False, "error_code": refusal.status, "description": refusal.description}
            if method.startswith("send") and isinstance(params.get("chat_id"), int):
                self.first_sent_at.setdefault(params["chat_id"], time.monotonic())
        return 200, {"ok": True, "result": result}

    def push_message(self, user_id: int, text: str) -> dict[str, Any]:
        """Queue an update for getUpdates; returns it (also usable as a webhook body)."""
        with self.lock:
            update = {"update_id": self.next_update_id, "message": {
                "message_id": self.next_update_id, "date": int(time.time()), "text": text,
                "chat": {"id": user_id, "type": "private", "first_name": "测试"},
                "from": {"id": user_id, "is_bot": False, "first_name": "测试"}}}
            self.next_update_id += 1
            self.updates.append(update)
            return update

    def sent(self, chat_id: int) -> list:
        with self.lock:
            return self.transport.sent(chat_id)

    @staticmethod
    def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("timed out")


__all__ = ["FakeBotApi"]
