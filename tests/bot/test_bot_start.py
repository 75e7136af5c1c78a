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


async def test_in_a_group_start_help_and_register_only_point_to_the_private_chat(bot, cadre, invite, session_factory):
    """Residents read along in a group: no role, village or invite is answered there, and no code is redeemed."""
    from storage.models import PendingAction
    from tests.bot.test_bot_check import FORBIDDEN, rows
    from tests.telegram_transport import BOT_USERNAME

    pointer = "请在与机器人的私聊中使用此命令。"
    group = cadre.in_group(-1001000000001, "东湖村居民群")
    for command in ("help", "start", f"help@{BOT_USERNAME}"):
        [reply] = await group.send_command(command)
        assert reply.text == pointer, command

    newcomer = bot.chat(CADRE2_ID, "赵主任")
    code = invite("cadre", "V2")
    [reply] = await newcomer.in_group(-1001000000002, "西山村居民群").send_command("register", code)
    assert reply.text == pointer
    await newcomer.send_command("register", code)  # the code still works in the private chat
    assert "注册成功" in newcomer.last_message.text and "西山村" in newcomer.last_message.text

    await cadre.send_text(FORBIDDEN)  # a red card waiting for its typed department, in the private chat
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    pending = [p.kind for p in rows(session_factory, PendingAction)]
    [reply] = await group.send_command("cancel")
    assert reply.text == pointer
    assert [p.kind for p in rows(session_factory, PendingAction)] == pending
    assert all("东湖村" not in m.text and "干部" not in m.text for m in group.replies)
