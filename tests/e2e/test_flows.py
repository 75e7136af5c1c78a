"""End to end over HTTP: the production Application polls telegram-test-api 4.2.1; users talk to it through the
emulator's client API. On SQLite and on PostgreSQL (fixture `db_url`)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.members import issue_invite
from storage.models import Member, RedCard, SurveyResponse
from texts import survey as T

pytestmark = pytest.mark.e2e

CADRE_ID = 71_000_001
RESIDENT_ID = 72_000_002
STRANGER_ID = 73_000_003
FORBIDDEN_TASK = "街道让我们收医保的钱还要排名"


async def test_the_bot_copes_with_what_the_emulator_lacks(e2e_bot):
    """setMyCommands answered 500 at start-up; the bot carried on and is polling."""
    [menu] = e2e_bot.wire("setMyCommands")
    assert menu.status == 500
    assert e2e_bot.app.updater.running
    assert e2e_bot.updates_request.calls("getUpdates")


async def test_a_cadre_registers_checks_a_forbidden_task_records_a_red_card_and_lists_it(
    e2e_bot, user, session_factory
):
    with session_factory() as s:
        code = issue_invite(s, role="cadre", village_code="DEMO01").code
        s.commit()
    cadre = user(CADRE_ID, "王书记")

    replies = await cadre.says(cadre.send_command("start", code), contains="注册成功")
    assert "东湖村" in replies[-1].text

    replies = await cadre.says(cadre.send_text(FORBIDDEN_TASK), contains="不在准入范围")
    answer = replies[-1]
    assert "记为红牌候选" in answer.button_labels and "👍" in answer.button_labels

    replies = await cadre.says(cadre.press("记为红牌候选", message=answer), contains="是哪个部门")
    ask = replies[-1]
    guesses = [label for label in ask.button_labels if label not in ("其他(手动输入)", "取消")]
    if guesses:
        department = guesses[0]
        replies = await cadre.says(cadre.press(department, message=ask), contains="已记为红牌候选")
    else:
        department = "街道办事处"
        await cadre.says(cadre.press("其他(手动输入)", message=ask), contains="部门名称")
        replies = await cadre.says(cadre.send_text(department), contains="已记为红牌候选")
    assert department in replies[-1].text

    replies = await cadre.says(cadre.send_command("redcards"), contains="红牌候选（共 1 条")
    listing = replies[-1]
    assert "东湖村" in listing.text and department in listing.text and "待确认" in listing.text
    assert "确认 1" in listing.button_labels and "撤回 1" in listing.button_labels

    with session_factory() as s:
        [card] = s.scalars(select(RedCard)).all()
        assert card.department == department and card.status == "candidate"
        assert card.village_id == e2e_bot.village_ids["DEMO01"]


async def test_a_resident_completes_the_survey_and_a_second_vote_is_handled(e2e_bot, user, session_factory):
    resident = user(RESIDENT_ID, "李阿姨")

    replies = await resident.says(resident.send_command("start", "s_DEMO01"), count=2)
    assert "东湖村居民满意度测评" in replies[0].text
    assert replies[1].text.startswith("第 1/8 题：社区为民服务")
    assert replies[1].button_labels == ["5 非常满意", "4 满意", "3 一般", "2 不满意", "1 很不满意", "跳过"]

    for number, label in enumerate(["5 非常满意", "4 满意", "跳过", "3 一般", "4 满意", "5 非常满意", "2 不满意"], 2):
        await resident.says(resident.press(label), contains=f"第 {number}/8 题")
    await resident.says(resident.press("4 满意"), contains="意见或建议")
    replies = await resident.says(resident.send_text("希望楼道灯早点修好"), contains="请核对")
    summary = replies[-1]
    assert "3. 社区文体教育：跳过" in summary.text and "意见：希望楼道灯早点修好" in summary.text
    await resident.says(resident.press("提交", message=summary), contains=T.SUBMITTED)

    # A second vote in the same period: offered to replace; replacing works …
    replies = await resident.says(resident.send_command("survey", "DEMO01"), contains="已经评价过东湖村")
    await resident.says(resident.press("重新填写并替换", message=replies[-1]), contains="第 1/8 题")
    for number in range(2, 9):
        await resident.says(resident.press("1 很不满意"), contains=f"第 {number}/8 题")
    await resident.says(resident.press("1 很不满意"), contains="意见或建议")
    replies = await resident.says(resident.press("跳过"), contains="提交后将替换")
    await resident.says(resident.press("提交", message=replies[-1]), contains=T.REPLACED)

    # … and keeping the earlier answer works too.
    replies = await resident.says(resident.send_command("start", "s_DEMO01"), contains="已经评价过东湖村")
    await resident.says(resident.press("保留原来的评价", message=replies[-1]), contains=T.KEPT)

    # every press was answered exactly once (no second handler answered it again)
    ids = [c.params.get("callback_query_id") for c in e2e_bot.wire("answerCallbackQuery")]
    assert len(ids) == len(set(ids)) >= 20

    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        [response] = s.scalars(select(SurveyResponse)).all()
        assert set(response.scores.values()) == {1} and len(response.scores) == 8
        assert response.comment is None


async def test_an_unregistered_user_is_refused_red_cards(e2e_bot, user, session_factory):
    stranger = user(STRANGER_ID, "路人")

    replies = await stranger.says(stranger.send_text(FORBIDDEN_TASK), contains="不在准入范围")
    answer = replies[-1]
    assert "注册" in answer.text  # how to register in order to log red cards
    presses_before = len(e2e_bot.wire("answerCallbackQuery"))
    if "记为红牌候选" in answer.button_labels:
        await stranger.press("记为红牌候选", message=answer)
        await _wait_for_callback_answer(e2e_bot, presses_before)
        toast = e2e_bot.wire("answerCallbackQuery")[presses_before].params.get("text") or ""
        assert "注册" in toast

    replies = await stranger.says(stranger.send_command("redcards"), contains="/register")
    assert "红牌候选只有登记的" in replies[-1].text

    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RedCard)) == 0
        assert s.scalar(select(func.count()).select_from(Member)) == 0


async def _wait_for_callback_answer(e2e_bot, before: int, timeout: float = 10.0) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(e2e_bot.wire("answerCallbackQuery")) > before:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not answer the button press")
