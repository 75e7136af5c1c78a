"""A cadre's task check, 👍/👎, unclear candidates and the red-card flow, as a user sees them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import callbacks
from storage.models import CheckLog, PendingAction, RedCard
from tests.bot.conftest import CADRE2_ID, RESIDENT_ID, register

FORBIDDEN = "街道让我们收医保的钱还要排名"          # restricted (C20), from 街道办事处
CERTIFICATE = "派出所叫社区开个证明，证明张阿姨跟她儿子是母子关系"  # certificate_refused (P1)
ASSIST = "低保入户算吗"                              # assist (B1)
# Short phrases the real knowledge base cannot pin to one item ("unclear"); the candidates are checked first, so a
# change to the lists that moves them fails with a clear message instead of a puzzling chat.
UNCLEAR = "高龄津贴和城管执法"   # candidates C13 城市管理 (restricted), B9 高龄津贴 (assist), C10 执法 (restricted)
UNCLEAR_IDS = ["C13", "B9", "C10"]
HUKOU = "遗失和宣传"  # candidates P20 证件遗失证明 (certificate) first, then B23 (assist)


def rows(session_factory, model, *where):
    with session_factory() as s:
        return list(s.scalars(select(model).where(*where).order_by(model.id)))


def candidate_labels(kb, text, expected_ids):
    """The candidate buttons the cadre will see for `text`, after checking the knowledge base still answers it
    'unclear' with these candidates."""
    result = kb.check(text)
    ids = [m.id for m in result.matches[:3]]
    assert (result.verdict, ids) == ("unclear", expected_ids), (
        f"the knowledge base now answers {text!r} {result.verdict} {ids}: choose another phrase for this test")
    return [f"{i} {kb.items[i].title}" for i in ids]


async def test_cadre_check_answers_with_verdict_and_buttons(cadre, session_factory, places):
    await cadre.send_text(FORBIDDEN)
    answer = cadre.last_message
    assert answer.text.startswith("⛔")
    assert "C20" in answer.text and "红牌候选" in answer.text
    assert answer.button_labels == ["记为红牌候选", "📝 生成回复函", "👍", "👎"]
    [entry] = rows(session_factory, CheckLog)
    assert entry.text == FORBIDDEN and entry.verdict == "restricted" and entry.top_item_id == "C20"
    assert entry.village_id == places.village_ids["V1"] and entry.member_id is not None


async def test_allowed_task_has_no_red_card_button(cadre):
    await cadre.send_text(ASSIST)
    assert cadre.last_message.text.startswith("🤝")
    assert "记为红牌候选" not in cadre.last_message.button_labels
    assert cadre.last_message.button_labels == ["👍", "👎"]


async def test_forbidden_task_becomes_a_red_card_and_repeats_are_counted(cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    ask = cadre.last_message
    assert "哪个部门" in ask.text and FORBIDDEN in ask.text
    assert ask.button_labels == ["街道办事处", "其他(手动输入)", "取消"]
    await cadre.press("街道办事处")
    assert "已记为红牌候选" in cadre.last_message.text and "第 1 次" in cadre.last_message.text
    assert cadre.last_message.buttons == []  # the question became the confirmation
    [card] = rows(session_factory, RedCard)
    assert (card.department, card.item_id, card.count, card.status) == ("街道办事处", "C20", 1, "candidate")
    assert "排名" in card.evidence

    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("街道办事处")
    assert "累计为第 2 次" in cadre.last_message.text
    [card] = rows(session_factory, RedCard)
    assert card.count == 2
    assert rows(session_factory, PendingAction) == []


async def test_red_card_list_and_confirm(cadre, session_factory):
    await cadre.send_text(CERTIFICATE)
    await cadre.press("记为红牌候选")
    await cadre.press("公安机关")
    await cadre.send_command("redcards")
    listing = cadre.last_message
    assert "东湖村 红牌候选" in listing.text and "待确认" in listing.text
    assert "公安机关" in listing.text and "P1" in listing.text
    assert listing.button_labels == ["确认 1", "撤回 1"]
    await cadre.press("确认 1")
    assert cadre.last_answer == "已确认这条红牌候选。"
    assert "已确认" in cadre.last_message.text and cadre.last_message.button_labels == ["撤回 1"]
    [card] = rows(session_factory, RedCard)
    assert card.status == "confirmed"
    await cadre.press("撤回 1")
    assert rows(session_factory, RedCard)[0].status == "withdrawn"
    assert "已撤回" in cadre.last_message.text and "撤销" in cadre.last_answer
    assert cadre.last_message.button_labels == ["↩ 撤销撤回 1"]  # nothing else left to do with it, but undo


async def test_department_typed_by_hand(cadre, session_factory, kb):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    assert "部门名称" in cadre.last_message.text
    await cadre.send_text("蓝天志愿者协会")
    assert "已记为红牌候选" in cadre.last_message.text and "蓝天志愿者协会" in cadre.last_message.text
    [card] = rows(session_factory, RedCard)
    assert card.department == "蓝天志愿者协会"
    # A known department is kept as typed; its canonical name is kept beside it, only for grouping.
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    await cadre.send_text("  县医保局 ")
    assert "已记为红牌候选：县医保局" in cadre.last_message.text
    cards = {c.department: c.department_key for c in rows(session_factory, RedCard)}
    assert cards == {"蓝天志愿者协会": "蓝天志愿者协会", "县医保局": kb.departments.canonical("县医保局")}
    # The next text is a task again.
    await cadre.send_text(ASSIST)
    assert cadre.last_message.text.startswith("🤝")


async def test_department_typed_bad_then_good_and_cancel(cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    await cadre.send_text("👍👍")
    assert "部门名称" in cadre.last_message.text and rows(session_factory, RedCard) == []
    await cadre.send_command("cancel")
    assert "已取消" in cadre.last_message.text
    assert rows(session_factory, PendingAction) == []
    await cadre.send_text(ASSIST)
    assert cadre.last_message.text.startswith("🤝")


async def test_a_long_text_while_typing_the_department_is_checked_as_a_new_task(cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    long_task = "派出所叫社区开个证明，证明张阿姨跟她儿子是母子关系，明天就要，还要盖章签字按手印"
    answer, note = await cadre.send_text(long_task)
    assert answer.text.startswith("🚫") and "记为红牌候选" in answer.button_labels
    assert "还在等部门名称" in note.text
    assert rows(session_factory, RedCard) == []


async def test_cancel_button_ends_the_red_card_flow(cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("取消")
    assert "已取消" in cadre.last_message.text
    assert rows(session_factory, RedCard) == [] and rows(session_factory, PendingAction) == []


async def test_feedback_is_recorded(cadre, session_factory):
    await cadre.send_text(ASSIST)
    answer = cadre.last_message
    await cadre.press("👍")
    assert "已记录" in cadre.last_answer
    assert rows(session_factory, CheckLog)[0].feedback == 1
    assert "👍 已评" in cadre.last_message.button_labels
    await cadre.press("👎", message=answer)
    assert rows(session_factory, CheckLog)[0].feedback == -1
    assert cadre.last_message.button_labels == ["👍", "👎 已评"]
    await cadre.press("👎 已评")
    assert cadre.last_answer == "已经记录过了。"


async def test_unclear_shows_candidates_and_a_choice_answers(cadre, kb, session_factory):
    c13, b9, c10 = candidate_labels(kb, UNCLEAR, UNCLEAR_IDS)
    await cadre.send_text(UNCLEAR)
    answer = cadre.last_message
    assert answer.text.startswith("❓")
    assert answer.button_labels == [c13, b9, c10, "都不是", "👍", "👎"]
    await cadre.press(b9)
    chosen = cadre.last_message
    assert chosen.text.startswith("您选的是") and "B9" in chosen.text and "C13" not in chosen.text
    assert chosen.button_labels == ["👍", "👎"]  # an assist item is not a red card
    await cadre.press(c13, message=answer)
    chosen = cadre.last_message
    assert chosen.text.startswith("您选的是") and "C13" in chosen.text and "不在准入范围" in chosen.text
    assert chosen.button_labels == ["记为红牌候选", "👍", "👎"]
    await cadre.press("记为红牌候选", message=chosen)
    await cadre.press("其他(手动输入)")
    await cadre.send_text("城管")
    assert "已记为红牌候选" in cadre.last_message.text and f"C13 {kb.items['C13'].title}" in cadre.last_message.text
    [card] = rows(session_factory, RedCard)
    assert card.item_id == "C13" and card.task_text == UNCLEAR
    await cadre.press("都不是", message=answer)
    assert "都不是" in cadre.last_message.text
    assert "记为红牌候选" in cadre.last_message.button_labels


async def test_a_certificate_candidate_is_answered_by_the_knowledge_base(cadre, kb, session_factory):
    """The phrase is unclear with P20 (a certificate committees must not issue) first: choosing it gives the
    knowledge base's full answer for P20 (what to refuse and where to go instead), with the red-card button."""
    [p20, b23] = candidate_labels(kb, HUKOU, ["P20", "B23"])
    await cadre.send_text(HUKOU)
    answer = cadre.last_message
    assert answer.text.startswith("❓") and answer.button_labels[:3] == [p20, b23, "都不是"]
    replies = await cadre.press(p20)
    [chosen] = replies
    assert cadre.last_answer == "已显示所选事项。"
    assert chosen.text.startswith("您选的是：\n🚫 不应出具")
    assert "P20 证件遗失证明" in chosen.text and "原因：" in chosen.text
    assert chosen.text == "您选的是：\n" + kb.answer_for_item("P20").reply
    assert chosen.button_labels == ["记为红牌候选", "👍", "👎"]
    await cadre.press("记为红牌候选", message=chosen)
    await cadre.press("其他(手动输入)")
    await cadre.send_text("派出所")
    [card] = rows(session_factory, RedCard)
    assert card.item_id == "P20"


async def test_none_of_these_is_recorded_and_can_become_an_unlisted_red_card(cadre, kb, session_factory):
    candidate_labels(kb, HUKOU, ["P20", "B23"])
    await cadre.send_text(HUKOU)
    await cadre.press("都不是")
    assert rows(session_factory, CheckLog)[0].feedback == -1
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    await cadre.send_text("镇政府")
    [card] = rows(session_factory, RedCard)
    assert card.item_id == "" and card.department == "镇政府"
    assert "未列入清单" in cadre.last_message.text


async def test_a_forged_candidate_index_changes_nothing(bot, cadre, kb, session_factory):
    candidate_labels(kb, UNCLEAR, UNCLEAR_IDS)
    await cadre.send_text(UNCLEAR)
    check_id = rows(session_factory, CheckLog)[0].id
    secret = bot.settings.secret.get_secret_value()
    await cadre.press_data(callbacks.sign(secret, cadre.user_id, "rc", check_id, "2"))  # B9 is no red card
    assert "在清单内" in cadre.last_answer
    await cadre.press_data(callbacks.sign(secret, cadre.user_id, "cc", check_id, 7))
    assert cadre.last_answer == "无法识别这个按钮。"
    assert rows(session_factory, PendingAction) == []


async def test_unregistered_user_gets_the_answer_a_note_and_no_red_cards(bot, session_factory):
    stranger = bot.chat(RESIDENT_ID)
    await stranger.send_text(FORBIDDEN)
    answer = stranger.last_message
    assert answer.text.startswith("⛔") and "/register" in answer.text
    await stranger.press("记为红牌候选")
    assert "注册" in stranger.last_answer
    assert stranger.last_message == answer  # nothing new was sent
    assert rows(session_factory, RedCard) == [] and rows(session_factory, PendingAction) == []
    [entry] = rows(session_factory, CheckLog)
    assert entry.member_id is None and entry.village_id is None
    await stranger.press("👍")
    assert rows(session_factory, CheckLog)[0].feedback == 1


async def test_resident_never_sees_red_cards(bot, cadre):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("街道办事处")
    resident = bot.chat(RESIDENT_ID)
    await resident.send_command("redcards")
    text = resident.last_message.text
    assert "只有登记的村(社区)干部" in text and "街道办事处" not in text
    assert resident.last_message.buttons == []


async def test_chitchat_gets_help_not_a_classification(cadre):
    await cadre.send_text("你好")
    assert "政社互动助手" in cadre.last_message.text
    assert "记为红牌候选" not in cadre.last_message.button_labels


async def test_another_users_buttons_change_nothing(bot, cadre, invite, session_factory):
    await cadre.send_text(FORBIDDEN)
    answer = cadre.last_message
    other = bot.chat(CADRE2_ID)
    await register(other, invite("cadre", "V2"))
    # The same buttons pressed by someone else (e.g. in a forwarded message or a forged client).
    for label in ("记为红牌候选", "👍"):
        _, data = cadre.find_button(label, message=answer)
        await other.press_data(data, message=answer)
        assert other.last_answer == "无法识别这个按钮。"
    assert rows(session_factory, PendingAction) == []
    assert rows(session_factory, CheckLog)[0].feedback is None
    # Even a correctly signed button for the other user cannot reach the cadre's check.
    check_id = rows(session_factory, CheckLog)[0].id
    secret = bot.settings.secret.get_secret_value()
    await other.press_data(callbacks.sign(secret, CADRE2_ID, "rc", check_id, "t"), message=answer)
    assert other.last_answer == "这个按钮不是给您的。"
    await other.press_data(callbacks.sign(secret, CADRE2_ID, "fb", check_id, "u"), message=answer)
    assert other.last_answer == "这个按钮不是给您的。"
    assert rows(session_factory, CheckLog)[0].feedback is None


@pytest.mark.parametrize("data", [
    "", "fb", "fb:", "fb:abc:u", "rc:1:t", "rc:1:t:AAAAAAAA", "rd:1:0:AAAAAAAA", "rk:1:c:0:AAAAAAAA",
    "rp:0:AAAAAAAA", "xx:1:2", "fb:1:u:" + "A" * 80, "💥" * 16, "rd:-1:0:AAAAAAAA",
])
async def test_forged_or_malformed_buttons_get_a_short_note(cadre, session_factory, data):
    await cadre.send_text(FORBIDDEN)
    before = len(cadre.replies)
    await cadre.press_data(data)
    # (PTB hands a button without data to the first button handler, here the survey's: its own short note.)
    assert cadre.last_answer in ("无法识别这个按钮。", "这个按钮无效。")
    assert len(cadre.replies) == before
    assert rows(session_factory, PendingAction) == [] and rows(session_factory, RedCard) == []


async def test_signed_buttons_for_things_that_do_not_exist_are_stale(bot, cadre, session_factory):
    secret = bot.settings.secret.get_secret_value()
    user = cadre.user_id
    await cadre.send_text(FORBIDDEN)
    for data, note in [
        (callbacks.sign(secret, user, "fb", 999999, "u"), "已失效"),
        (callbacks.sign(secret, user, "rc", 999999, "t"), "已失效"),
        (callbacks.sign(secret, user, "rd", 999999, 0), "已失效"),
        (callbacks.sign(secret, user, "cc", 999999, 1), "已失效"),
        (callbacks.sign(secret, user, "rk", 999999, "c", 0), "不存在"),
    ]:
        await cadre.press_data(data)
        assert note in cadre.last_answer, (data, cadre.last_answer)
    assert rows(session_factory, RedCard) == []


async def test_red_card_button_on_an_allowed_answer_is_refused(bot, cadre, session_factory):
    await cadre.send_text(ASSIST)
    check_id = rows(session_factory, CheckLog)[0].id
    await cadre.press_data(callbacks.sign(bot.settings.secret.get_secret_value(), cadre.user_id, "rc", check_id, "t"))
    assert "在清单内" in cadre.last_answer
    assert rows(session_factory, PendingAction) == []


async def test_a_used_department_button_is_stale(cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    ask = cadre.last_message
    _, data = cadre.find_button("街道办事处", message=ask)
    await cadre.press("街道办事处")
    await cadre.press_data(data, message=ask)  # a double tap, or an old copy of the keyboard
    assert "已失效" in cadre.last_answer
    assert rows(session_factory, RedCard)[0].count == 1


async def test_bureau_sees_its_town_read_only(bot, cadre, invite):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("街道办事处")
    bureau = bot.chat(4_200_000_001)
    await register(bureau, invite("bureau", town="T1"))
    await bureau.send_command("redcards")
    listing = bureau.last_message
    assert "示范镇" in listing.text and "东湖村" in listing.text and "街道办事处" in listing.text
    assert "只读" in listing.text and listing.buttons == []
    other_bureau = bot.chat(4_200_000_002)
    await register(other_bureau, invite("bureau", town="T2"))
    await other_bureau.send_command("redcards")
    assert "还没有红牌候选" in other_bureau.last_message.text


async def test_another_villages_cadre_cannot_change_the_card(bot, cadre, invite, session_factory):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("街道办事处")
    await cadre.send_command("redcards")
    listing = cadre.last_message
    other = bot.chat(CADRE2_ID)
    await register(other, invite("cadre", "V2"))
    await other.send_command("redcards")
    assert "西山村 还没有红牌候选" in other.last_message.text
    _, data = cadre.find_button("确认 1", message=listing)
    await other.press_data(data, message=listing)
    assert other.last_answer == "无法识别这个按钮。"
    card_id = rows(session_factory, RedCard)[0].id
    signed = callbacks.sign(bot.settings.secret.get_secret_value(), CADRE2_ID, "rk", card_id, "c", 0)
    await other.press_data(signed, message=listing)
    assert other.last_answer == "您无权更改这条红牌候选。"
    assert rows(session_factory, RedCard)[0].status == "candidate"


async def test_red_cards_are_paginated_newest_first(cadre, session_factory, places):
    from storage.redcards import record_red_card

    with session_factory() as s:
        for i in range(7):
            record_red_card(s, village_id=places.village_ids["V1"], department=f"部门{i}", task_text=f"任务{i}",
                            item_id="C20")
        s.commit()
    await cadre.send_command("redcards")
    first = cadre.last_message
    assert "共 7 条" in first.text and "第 1/2 页" in first.text
    assert first.text.index("部门6") < first.text.index("部门2")
    assert "部门1" not in first.text
    await cadre.press("下一页 ▶")
    assert "第 2/2 页" in cadre.last_message.text and "部门0" in cadre.last_message.text
    assert "◀ 上一页" in cadre.last_message.button_labels
    await cadre.press("确认 7")
    assert "第 2/2 页" in cadre.last_message.text
    assert rows(session_factory, RedCard, RedCard.department == "部门0")[0].status == "confirmed"
    await cadre.send_command("redcards", "2")
    assert "第 2/2 页" in cadre.last_message.text
    await cadre.send_command("redcards", "99")
    assert "第 2/2 页" in cadre.last_message.text


async def test_bot_replies_to_bad_input_clearly(cadre, session_factory):
    await cadre.send_text("   ")
    assert "没有收到文字" in cadre.last_message.text
    await cadre.send_text("字" * 4097)
    assert "太长" in cadre.last_message.text
    await cadre.send_text("😀😀😀")
    assert cadre.last_message.text  # a short, clear reply (no traceback)
    assert "Traceback" not in cadre.last_message.text
    await cadre.send_text("<b>街道</b> 让我们*收钱* `DROP TABLE check_log;`")
    assert cadre.last_message.text
    await cadre.send_photo()
    assert "只能看懂文字" in cadre.last_message.text
    await cadre.send_sticker()
    assert "只能看懂文字" in cadre.last_message.text
    await cadre.send_voice()
    assert "语音请先转成文字" in cadre.last_message.text
    await cadre.send_document()
    assert "只能看懂文字" in cadre.last_message.text
    await cadre.send_photo(caption=FORBIDDEN)
    assert "按图片说明文字查询" in cadre.last_message.text and "C20" in cadre.last_message.text
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CheckLog)) >= 2


async def test_an_edited_message_is_not_checked_or_logged_again(cadre, session_factory):
    await cadre.send_text("低保")
    logged = len(rows(session_factory, CheckLog))
    first_id = cadre.sent_by_user[-1]["message"]["message_id"]
    [reply] = await cadre.edit_text(first_id, FORBIDDEN)
    assert reply.text == "修改过的消息不会重新查询。如需查询修改后的内容，请把它作为一条新消息发送。"
    assert len(rows(session_factory, CheckLog)) == logged
    [reply] = await cadre.edit_text(first_id, "/register ABCD1234",
                                    entities=[{"type": "bot_command", "offset": 0, "length": 9}])
    assert "修改过的消息不会重新查询" in reply.text  # an edited command is not run again either
    await cadre.send_text(FORBIDDEN)  # sent anew, it is checked
    assert cadre.last_message.text.startswith("⛔") and len(rows(session_factory, CheckLog)) == logged + 1


async def test_bureau_checks_without_red_card_button_and_is_refused_if_forged(bot, invite, session_factory):
    bureau = bot.chat(4_200_000_001, "李科长")
    await register(bureau, invite("bureau", town="T1"))
    await bureau.send_text(FORBIDDEN)
    answer = bureau.last_message
    assert answer.text.startswith("⛔") and "/register" not in answer.text
    assert answer.button_labels == ["👍", "👎"]
    check_id = rows(session_factory, CheckLog)[0].id
    await bureau.press_data(callbacks.sign(bot.settings.secret.get_secret_value(), bureau.user_id, "rc", check_id, "t"))
    assert "只有村(社区)干部" in bureau.last_answer
    assert rows(session_factory, PendingAction) == []


async def test_red_cards_and_digests_stay_out_of_group_chats(bot, cadre, invite, session_factory):
    """In a group residents read along, /redcards, /digest, /subscribe and /unsubscribe only point to the private
    chat; nothing of the village's red cards or the digest is posted there, and nothing is subscribed."""
    from storage.models import DigestSubscription
    from tests.telegram_transport import BOT_USERNAME

    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("街道办事处")
    await cadre.send_command("redcards")
    listing = cadre.last_message
    group = cadre.in_group(-1001000000001, "东湖村居民群")
    for command in ("redcards", f"redcards@{BOT_USERNAME}"):
        [reply] = await group.send_command(command)
        assert reply.text == "请在与机器人的私聊中使用此命令。"
    # A listing's button pressed in the group (e.g. a listing posted there by an older version) lists nothing.
    _, data = cadre.find_button("确认 1", message=listing)
    assert await group.press_data(data, message_id=1) == []
    assert group.last_answer == "请在与机器人的私聊中使用此命令。"
    assert rows(session_factory, RedCard)[0].status == "candidate"

    bureau = bot.chat(4_200_000_001, "李科长")
    await register(bureau, invite("bureau", town="T1"))
    town_group = bureau.in_group(-1001000000002, "示范镇工作群", chat_type="group")
    for command in ("digest", "subscribe", "unsubscribe", "redcards"):
        [reply] = await town_group.send_command(command)
        assert reply.text == "请在与机器人的私聊中使用此命令。", command
    assert rows(session_factory, DigestSubscription) == []
    assert all("街道办事处" not in m.text for m in group.replies + town_group.replies)
    # In the private chat the same commands still work.
    await cadre.send_command("redcards")
    assert "街道办事处" in cadre.last_message.text
    await bureau.send_command("subscribe")
    assert len(rows(session_factory, DigestSubscription)) == 1
