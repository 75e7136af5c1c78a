"""The request adapter corrects telegram-test-api's known deviations in replies, and only there (no emulator
needed: these run everywhere)."""

from __future__ import annotations

import json

import pytest
from telegram import Message, Update, User

from tests.e2e.emulator import CallbackDataTooLong, EmulatorRequest, correct_reply


def reply(result) -> bytes:
    return json.dumps({"ok": True, "result": result}).encode()


def corrected(method: str, result):
    return json.loads(correct_reply(method, reply(result)))["result"]


def test_get_me_gets_is_bot():
    me = corrected("getMe", {"username": "TestNameBot", "first_name": "Test First name", "id": 666})
    assert me["is_bot"] is True
    assert User.de_json(me, None).is_bot


def test_send_message_date_in_milliseconds_becomes_seconds():
    sent = corrected("sendMessage", {"message_id": 5, "date": 1_760_000_000_123, "text": "你好",
                                     "chat": {"id": 1, "type": "private", "first_name": "Bot"}})
    assert sent["date"] == 1_760_000_000
    assert Message.de_json(sent, None).date.year >= 2025
    already = corrected("sendMessage", {"message_id": 5, "date": 1_760_000_000, "text": "x",
                                        "chat": {"id": 1, "type": "private"}})
    assert already["date"] == 1_760_000_000


def test_callback_query_updates_get_a_chat_instance():
    updates = corrected("getUpdates", [
        {"update_id": 3, "callback_query": {"id": "1", "from": {"id": 9, "is_bot": False, "first_name": "a"},
                                            "data": "sv:2026-11:cs",
                                            "message": {"message_id": 2, "date": 1_760_000_000_000,
                                                        "chat": {"id": 9, "type": "private"}, "text": "x"}}},
        {"update_id": 4, "message": {"message_id": 3, "date": 1_760_000_000, "text": "hi",
                                     "chat": {"id": 9, "type": "private"}, "botToken": "1:x"}},
    ])
    assert updates[0]["callback_query"]["chat_instance"] == "9"
    assert updates[0]["callback_query"]["message"]["date"] == 1_760_000_000
    parsed = [Update.de_json(u, None) for u in updates]
    assert parsed[0].callback_query.data == "sv:2026-11:cs" and parsed[1].message.text == "hi"


@pytest.mark.parametrize("method", ["editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"])
def test_null_results_become_true(method):
    assert corrected(method, None) is True


def test_errors_and_other_replies_pass_unchanged():
    error = json.dumps({"message": "API method 'setMyCommands' is not supported."}).encode()
    assert correct_reply("setMyCommands", error) == error
    assert correct_reply("sendMessage", b"not json") == b"not json"
    assert corrected("deleteWebhook", True) is True


async def test_callback_data_over_64_bytes_fails_loudly_before_anything_is_sent():
    request = EmulatorRequest()
    markup = {"inline_keyboard": [[{"text": "红", "callback_data": "红" * 22}]]}

    class Data:
        parameters = {"chat_id": 1, "text": "x", "reply_markup": markup}

    with pytest.raises(CallbackDataTooLong):
        await request.do_request("http://127.0.0.1:9/bot1:x/sendMessage", "POST", Data())  # type: ignore[arg-type]
    assert request.violations and "66 bytes" in request.violations[0]
    assert [c.status for c in request.wire] == [None], "nothing went over the wire"
