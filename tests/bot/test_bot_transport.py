"""The offline transport answers like Telegram and refuses what Telegram refuses."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter

from tests.telegram_transport import RecordingRequest, utf16_len

TOKEN = "123456:TEST-token"


@pytest.fixture
async def bot_and_transport():
    transport = RecordingRequest()
    bot = Bot(TOKEN, request=transport, get_updates_request=transport)
    async with bot:
        yield bot, transport


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("按钮", callback_data=data)]])


async def test_get_me_and_send_message_return_well_formed_objects(bot_and_transport):
    bot, transport = bot_and_transport
    assert bot.username == transport.bot["username"]
    first = await bot.send_message(42, "你好", reply_markup=keyboard("fb:1:u"))
    second = await bot.send_message(42, "再见")
    assert second.message_id == first.message_id + 1
    assert first.chat.id == 42 and first.text == "你好"
    assert first.reply_markup.inline_keyboard[0][0].callback_data == "fb:1:u"
    assert [c.method for c in transport.calls] == ["getMe", "sendMessage", "sendMessage"]


async def test_callback_data_of_64_bytes_passes_65_is_refused(bot_and_transport):
    bot, transport = bot_and_transport
    await bot.send_message(1, "ok", reply_markup=keyboard("x" * 64))
    too_long = "红" * 22  # 22 Chinese characters = 66 UTF-8 bytes
    assert len(too_long.encode()) > 64
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1, "不行", reply_markup=keyboard(too_long))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1, "不行", reply_markup=keyboard("a" * 65))
    assert len(transport.sent(1)) == 1


async def test_text_limits_are_counted_like_telegram(bot_and_transport):
    bot, transport = bot_and_transport
    await bot.send_message(1, "字" * 4096)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(1, "字" * 4097)
    # An emoji outside the BMP is two UTF-16 code units: 2049 of them are 4098 units.
    assert utf16_len("😀") == 2
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(1, "😀" * 2049)
    # Markup does not count: HTML tags are removed before measuring.
    await bot.send_message(1, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(1, "   ")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(1, "<b></b>", parse_mode=ParseMode.HTML)


async def test_answer_callback_query_limit_and_double_answer(bot_and_transport):
    bot, _ = bot_and_transport
    assert await bot.answer_callback_query("q1", text="好" * 200)
    with pytest.raises(BadRequest, match="(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query("q2", text="好" * 201)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("q1")


async def test_edits_like_telegram(bot_and_transport):
    bot, transport = bot_and_transport
    message = await bot.send_message(5, "第一版", reply_markup=keyboard("a:1"))
    await bot.edit_message_text("第二版", chat_id=5, message_id=message.message_id)
    assert transport.sent(5)[0].text == "第二版"
    assert transport.sent(5)[0].reply_markup is None  # no markup given: the keyboard is removed
    with pytest.raises(BadRequest, match="(?i)not modified"):
        await bot.edit_message_text("第二版", chat_id=5, message_id=message.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=5, message_id=999999)
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.edit_message_reply_markup(chat_id=5, message_id=message.message_id, reply_markup=keyboard("b" * 65))
    assert await bot.delete_message(5, message.message_id)
    assert transport.sent(5) == []


async def test_injected_flood_wait_and_server_error(bot_and_transport):
    bot, transport = bot_and_transport
    transport.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(1, "x")
    assert info.value.retry_after in (3,) or info.value.retry_after.total_seconds() == 3
    transport.unsupported.add("setMyCommands")
    with pytest.raises(NetworkError):
        await bot.set_my_commands([("start", "开始")])
    assert (await bot.send_message(1, "y")).text == "y"


async def test_documents_are_kept(bot_and_transport):
    bot, transport = bot_and_transport
    await bot.send_document(9, document=b"PK\x03\x04data", filename="周报.xlsx", caption="本周周报")
    sent = transport.sent(9)[0]
    assert sent.kind == "document" and sent.caption == "本周周报"
    assert sent.document[0] == "周报.xlsx" and sent.document[1].startswith(b"PK")
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_document(9, document=b"x", filename="a.txt", caption="字" * 1025)
