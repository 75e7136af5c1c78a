"""/start, /help and registration, as a user sees them."""

from __future__ import annotations

from datetime import timedelta

from storage.models import utcnow
from tests.bot.conftest import BUREAU_ID, CADRE2_ID, CADRE_ID, RESIDENT_ID, STRANGER_ID, register


async def test_start_without_payload_welcomes_a_guest(bot):
    resident = bot.chat(RESIDENT_ID)
    await resident.send_command("start")
    text = resident.last_message.text
    assert "政社互动助手" in text and "/register" in text and "/survey" in text


async def test_register_with_valid_code_binds_the_cadre(bot, invite):
    cadre = bot.chat(CADRE_ID, "王书记")
    code = invite("cadre", "V1")
    await cadre.send_command("register", code)
    assert "注册成功" in cadre.last_message.text
    assert "东湖村" in cadre.last_message.text and "示范镇" in cadre.last_message.text
    await cadre.send_command("help")
    assert "东湖村" in cadre.last_message.text and "/redcards" in cadre.last_message.text


async def test_deep_link_code_registers(bot, invite):
    cadre = bot.chat(CADRE2_ID)
    code = invite("cadre", "V2")
    await cadre.send_command("start", code)
    assert "注册成功" in cadre.last_message.text and "西山村" in cadre.last_message.text


async def test_code_is_case_and_space_insensitive(bot, invite):
    cadre = bot.chat(CADRE_ID)
    code = invite("cadre", "V1")
    await cadre.send_command("register", code[:4].lower(), code[4:].lower())
    assert "注册成功" in cadre.last_message.text


async def test_used_code_is_refused_with_a_reason(bot, invite):
    code = invite("cadre", "V1")
    await register(bot.chat(CADRE_ID), code)
    other = bot.chat(STRANGER_ID)
    await other.send_command("register", code)
    text = other.last_message.text
    assert "没有成功" in text and "已被使用" in text and code in text


async def test_expired_code_is_refused_with_a_reason(bot, invite):
    code = invite("cadre", "V1", ttl=timedelta(hours=1), now=utcnow() - timedelta(days=2))
    user = bot.chat(STRANGER_ID)
    await user.send_command("register", code)
    assert "已过期" in user.last_message.text


async def test_unknown_code_is_refused_with_a_reason(bot, places):
    user = bot.chat(STRANGER_ID)
    await user.send_command("register", "ZZZZ9999")
    assert "不存在" in user.last_message.text and "ZZZZ9999" in user.last_message.text
    await user.send_command("start", "NOSUCHCODE")
    assert "不存在" in user.last_message.text


async def test_register_without_code_explains_usage(bot):
    user = bot.chat(STRANGER_ID)
    await user.send_command("register")
    assert "/register" in user.last_message.text and "邀请码" in user.last_message.text


async def test_absurd_code_is_answered_briefly(bot, places):
    user = bot.chat(STRANGER_ID)
    await user.send_command("register", "码" * 3000)
    reply = user.last_message.text
    assert "没有成功" in reply and len(reply) < 300


async def test_bureau_help_is_role_aware(bot, invite):
    bureau = bot.chat(BUREAU_ID, "李科长")
    await bureau.send_command("register", invite("bureau", town="T1"))
    assert "示范镇" in bureau.last_message.text
    await bureau.send_command("help")
    assert "/digest" in bureau.last_message.text and "记为红牌候选" not in bureau.last_message.text


async def test_guest_help_does_not_mention_red_card_lists(bot):
    resident = bot.chat(RESIDENT_ID)
    await resident.send_command("help")
    assert "/redcards" not in resident.last_message.text


async def test_survey_deep_link_goes_to_the_survey(bot, places):
    resident = bot.chat(RESIDENT_ID)
    replies = await resident.send_command("start", "s_V1")
    assert replies, "the survey link must be answered"
    assert "不认识" not in replies[-1].text


async def test_unknown_command_and_cancel_with_nothing_pending(bot):
    user = bot.chat(STRANGER_ID)
    await user.send_command("frobnicate")
    assert "不认识这个命令" in user.last_message.text
    await user.send_command("cancel")
    assert "没有进行中的操作" in user.last_message.text or "没有" in user.last_message.text
