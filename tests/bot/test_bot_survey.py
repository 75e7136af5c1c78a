"""The survey inside the whole bot (every feature wired, the real task check): the router gives a resident's text
to the survey while it waits, and to the task check otherwise; a bare /survey offers the towns and villages."""

from __future__ import annotations

from tests.bot.conftest import RESIDENT_ID
from texts import errors as E
from texts import survey as T

FORBIDDEN_TASK = "街道让我们收医保的钱还要排名"


async def test_a_resident_picks_a_village_in_another_town(bot):
    aunt = bot.chat(RESIDENT_ID, "李阿姨")
    [picker] = await aunt.send_command("survey")
    assert picker.text == T.PICK_TOWN and picker.button_labels == ["示范镇", "临江街道"]
    await aunt.press("临江街道")
    assert aunt.last_message.button_labels == ["滨江社区", T.BACK_TO_TOWNS_BUTTON]
    new = await aunt.press("滨江社区")
    assert "滨江社区居民满意度测评" in new[0].text and new[1].text.startswith("第 1/8 题")
    assert len(aunt.callback_answers) == 2, "each press answered once, by the survey alone"


async def test_text_goes_to_the_waiting_survey_then_after_cancel_to_the_task_check(bot):
    aunt = bot.chat(RESIDENT_ID, "李阿姨")
    await aunt.send_command("survey", "V1")
    for _ in range(8):
        await aunt.press("4 满意")
    new = await aunt.send_text(FORBIDDEN_TASK)  # the survey waits for a comment: this is her comment
    assert len(new) == 1 and new[0].text.startswith(T.COMMENT_RECEIVED)
    assert f"意见：{FORBIDDEN_TASK}" in new[0].text

    new = await aunt.send_command("cancel")
    assert [m.text for m in new] == [E.CANCELLED]
    new = await aunt.send_text(FORBIDDEN_TASK)  # nothing waits now: the task check answers
    assert len(new) == 1 and "不在准入范围" in new[0].text


async def test_an_edited_survey_comment_is_neither_logged_as_a_check_nor_changes_the_comment(bot, session_factory):
    from sqlalchemy import func, select

    from storage.models import CheckLog

    aunt = bot.chat(RESIDENT_ID, "李阿姨")
    await aunt.send_command("survey", "V1")
    for _ in range(8):
        await aunt.press("4 满意")
    await aunt.send_text("路灯坏了")
    comment_id = aunt.sent_by_user[-1]["message"]["message_id"]
    [reply] = await aunt.edit_text(comment_id, FORBIDDEN_TASK)
    assert "修改过的消息不会重新查询" in reply.text
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CheckLog)) == 0
