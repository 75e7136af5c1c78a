"""Forged buttons and odd updates (stickers, channel posts, inline queries, …): a short Chinese answer or silence,
never a traceback."""

from __future__ import annotations

import logging
import random
import re

import pytest

from bot import callbacks
from tests.bot.conftest import CADRE_ID
from tests.chat import make_update

CHINESE = re.compile(r"[\u4e00-\u9fff]")
PREFIXES = ("fb", "cc", "rp", "rk", "ru", "rc", "rd", "sv", "zz")


def forged_payloads(secret: str, user_id: int, count: int = 300) -> list[str]:
    """Button data a client could send that we never issued to this user: non-ASCII tags, over-long data, wrong
    field counts, empty parts, someone else's signature, random junk."""
    rng = random.Random(10)
    alphabet = "abcXYZ019:_-💥码é\u200b\x00 "
    made = [""]
    for prefix in PREFIXES:
        good = callbacks.sign(secret, user_id, prefix, 7, "u")
        made += [
            good[:-8] + "码" * 8, good[:-1] + "é", good + "💥", good + ":1", prefix, f"{prefix}:", f"{prefix}::",
            f"{prefix}:7:u:" + "A" * 80, good.replace(":7:", ":８:"), callbacks.sign(secret, user_id + 1, prefix, 7, "u"),
            good[:-8] + "\x00" * 8, f"{prefix}:{'9' * 30}:u:{good[-8:]}",
        ]
    while len(made) < count:
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 70)))
        made.append(rng.choice(PREFIXES) + rng.choice(("", ":")) + body)
    return made


async def test_every_forged_button_gets_a_short_chinese_answer_and_no_traceback(cadre, bot, caplog):
    secret = bot.settings.secret.get_secret_value()
    await cadre.send_text("低保")  # a real answer with real buttons to press forged data under
    caplog.set_level(logging.ERROR)
    payloads = forged_payloads(secret, CADRE_ID)
    for data in payloads:
        answers_before = len(cadre.callback_answers)
        await cadre.press_data(data)
        assert len(cadre.callback_answers) == answers_before + 1, f"no answer to {data!r}"
        shown = cadre.last_answer
        assert CHINESE.search(shown) and len(shown) <= 60, f"{data!r} was answered {shown!r}"
        assert "出错了" not in shown, f"{data!r} failed inside the bot"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_non_ascii_button_data_is_refused_not_raised():
    good = callbacks.sign("secret", 42, "fb", 7, "u")
    assert callbacks.verify("secret", 42, good[:-8] + "码" * 8, "fb", 2) is None
    assert callbacks.verify("secret", 42, good[:-1] + "é", "fb", 2) is None
    assert callbacks.verify("secret", 42, good, "fb", 2) == ["7", "u"]




# ---------------------------------------------------------------------------------------------- every update kind

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "政社互动助手", "username": "cadrebot_test_bot"}
PERSON = {"id": CADRE_ID, "is_bot": False, "first_name": "王书记"}
PRIVATE_CHAT = {"id": CADRE_ID, "type": "private", "first_name": "王书记"}
GROUP = {"id": -1001000000001, "type": "supergroup", "title": "东湖村居民群"}
CHANNEL = {"id": -1001000000009, "type": "channel", "title": "示范镇通知"}
NOW = 1_790_000_000


def _message(chat: dict, **fields) -> dict:
    sender = {} if chat["type"] == "channel" else {"from": PERSON}
    return {"message_id": 9001, "date": NOW, "chat": chat, **sender, **fields}


def _member_update(chat: dict, user: dict, old: str, new: str) -> dict:
    def member(status: str) -> dict:
        return {"user": user, "status": status, **({"until_date": 0} if status == "kicked" else {})}

    return {"chat": chat, "from": PERSON, "date": NOW, "old_chat_member": member(old), "new_chat_member": member(new)}


STICKER = {"file_id": "CAAC", "file_unique_id": "AgAD", "type": "regular", "width": 512, "height": 512,
           "is_animated": False, "is_video": False}
PHOTO = [{"file_id": "AgAC", "file_unique_id": "AQAD", "width": 90, "height": 90}]
LOCATION = {"latitude": 30.5, "longitude": 114.3}
POLL = {"id": "p1", "question": "开会时间？", "options": [{"persistent_id": "o1", "text": "周一", "voter_count": 0}],
        "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
        "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}

# (what Telegram sends, what the cadre should notice): "reply" = a short Chinese message in the private chat,
# "silent" = nothing at all (nobody asked the bot anything).
ODD_UPDATES: list[tuple[str, dict, str]] = [
    ("sticker", {"message": _message(PRIVATE_CHAT, sticker=STICKER)}, "reply"),
    ("photo without caption", {"message": _message(PRIVATE_CHAT, photo=PHOTO)}, "reply"),
    ("location", {"message": _message(PRIVATE_CHAT, location=LOCATION)}, "reply"),
    ("contact", {"message": _message(PRIVATE_CHAT, contact={"phone_number": "+8613800000000", "first_name": "张"})},
     "reply"),
    ("dice", {"message": _message(PRIVATE_CHAT, dice={"emoji": "🎲", "value": 3})}, "reply"),
    ("poll", {"message": _message(PRIVATE_CHAT, poll=POLL)}, "reply"),
    ("edited photo caption", {"edited_message": _message(PRIVATE_CHAT, photo=PHOTO, caption="改", edit_date=NOW)},
     "reply"),
    ("group sticker", {"message": _message(GROUP, sticker=STICKER)}, "silent"),
    ("group text", {"message": _message(GROUP, text="大家好")}, "silent"),
    ("group edited text", {"edited_message": _message(GROUP, text="大家好！", edit_date=NOW)}, "silent"),
    ("someone joins the group", {"message": _message(GROUP, new_chat_members=[PERSON])}, "silent"),
    ("someone leaves the group", {"message": _message(GROUP, left_chat_member=PERSON)}, "silent"),
    ("group renamed", {"message": _message(GROUP, new_chat_title="东湖村群")}, "silent"),
    ("pinned in private chat", {"message": _message(PRIVATE_CHAT, pinned_message=_message(PRIVATE_CHAT, text="x"))},
     "silent"),
    ("channel post", {"channel_post": _message(CHANNEL, text="/help 通知")}, "silent"),
    ("channel photo", {"channel_post": _message(CHANNEL, photo=PHOTO)}, "silent"),
    ("edited channel post", {"edited_channel_post": _message(CHANNEL, text="通知", edit_date=NOW)}, "silent"),
    ("inline query", {"inline_query": {"id": "iq1", "from": PERSON, "query": "低保", "offset": ""}}, "silent"),
    ("chosen inline result", {"chosen_inline_result": {"result_id": "r1", "from": PERSON, "query": "低保"}}, "silent"),
    ("bot added to a group", {"my_chat_member": _member_update(GROUP, BOT_USER, "left", "member")}, "silent"),
    ("bot blocked", {"my_chat_member": _member_update(PRIVATE_CHAT, BOT_USER, "member", "kicked")}, "silent"),
    ("chat member change", {"chat_member": _member_update(GROUP, PERSON, "member", "left")}, "silent"),
    ("join request", {"chat_join_request": {"chat": GROUP, "from": PERSON, "user_chat_id": CADRE_ID, "date": NOW}},
     "silent"),
    ("poll state", {"poll": POLL}, "silent"),
    ("poll answer", {"poll_answer": {"poll_id": "p1", "user": PERSON, "option_ids": [0], "option_persistent_ids": ["o1"]}}, "silent"),
    ("reaction", {"message_reaction": {"chat": PRIVATE_CHAT, "message_id": 1, "user": PERSON, "date": NOW,
                                       "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}},
     "silent"),
]


@pytest.mark.parametrize(("kind", "payload", "expected"), ODD_UPDATES, ids=[row[0] for row in ODD_UPDATES])
async def test_every_kind_of_update_is_answered_briefly_or_ignored_without_error(cadre, bot, caplog, kind, payload,
                                                                                expected):
    bot.transport.reset()
    caplog.set_level(logging.ERROR)
    await bot.app.process_update(make_update(bot.app, payload))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    sent = [c for c in bot.transport.calls if c.method.startswith("send")]
    if expected == "silent":
        assert sent == [], f"{kind}: the bot should say nothing, it sent {[c.params for c in sent]}"
        return
    [reply] = sent
    text = str(reply.params.get("text", ""))
    assert int(reply.params["chat_id"]) == CADRE_ID and CHINESE.search(text) and len(text) < 200, text
    assert "出错了" not in text


async def test_buttons_pressed_where_the_message_is_gone_or_inline_are_answered(cadre, bot, caplog):
    """A real button whose message Telegram no longer shows us (inaccessible, or an inline message): answered."""
    await cadre.send_text("街道让我们收医保的钱还要排名")
    buttons = [data for row in cadre.last_message.buttons for _, data in row if data]
    assert buttons
    caplog.set_level(logging.ERROR)
    for data in [*buttons, "zz:1", None]:
        for where in ({"inline_message_id": "AAAA"},
                      {"message": {"chat": PRIVATE_CHAT, "message_id": cadre.last_message.message_id, "date": 0}}):
            query = {"id": f"q{len(cadre.transport.calls)}", "from": PERSON, "chat_instance": "ci", **where}
            if data is not None:
                query["data"] = data
            else:
                query["game_short_name"] = "nope"
            before = len(bot.transport.calls_of("answerCallbackQuery"))
            await bot.app.process_update(make_update(bot.app, {"callback_query": query}))
            answers = bot.transport.calls_of("answerCallbackQuery")[before:]
            assert len(answers) == 1 and CHINESE.search(str(answers[0].params.get("text") or "")), (data, where)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
