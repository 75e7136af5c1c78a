"""The survey as the router's ActiveStep: while a resident's survey waits for a comment, their text is the comment;
/cancel drops the survey (the router says so once); the survey in progress survives a restart of the bot.
On SQLite and PostgreSQL, through the production Application."""

from __future__ import annotations

from sqlalchemy import select

from storage import surveys as S
from storage.models import PendingAction, SurveyResponse
from tests.survey.conftest import FALLTHROUGH
from texts import errors as E
from texts import survey as T


async def to_comment(chat) -> None:
    await chat.send_command("survey", "V1")
    for label in ["5 非常满意", "4 满意", "3 一般", "跳过", "4 满意", "4 满意", "2 不满意", "5 非常满意"]:
        await chat.press(label)
    assert "意见或建议" in chat.last_message.text and chat.last_message.button_labels == ["跳过"]


def surveys_in_progress(session_factory) -> int:
    with session_factory() as s:
        return len(list(s.scalars(select(PendingAction.id).where(PendingAction.kind == S.DRAFT_KIND))))


async def test_cancel_while_the_survey_waits_for_a_comment(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await to_comment(aunt)
    prompt = aunt.last_message

    new = await aunt.send_command("cancel")
    assert [m.text for m in new] == [E.CANCELLED], "one reply"
    assert surveys_in_progress(session_factory) == 0

    # the survey no longer waits: what she types now is checked as a task, not kept as a comment
    await aunt.send_text("街道让我们收医保的钱")
    assert aunt.last_message.text == FALLTHROUGH + "街道让我们收医保的钱"
    await aunt.press("跳过", message=prompt)
    assert aunt.last_answer == T.BUTTON_NO_SURVEY
    new = await aunt.send_command("cancel")
    assert [m.text for m in new] == [E.NOTHING_TO_CANCEL]
    with session_factory() as s:
        assert s.scalars(select(SurveyResponse)).all() == []


async def test_the_comment_typed_after_a_restart_is_taken(start_bot, resident, session_factory):
    first = await start_bot()
    await to_comment(resident(first))
    await first.shutdown()

    second = await start_bot()  # a new Application and transport on the same database: nothing in memory
    aunt = resident(second)
    await aunt.send_text("楼道灯坏了很久，希望尽快修")
    summary = aunt.last_message
    assert summary.text.startswith(T.COMMENT_RECEIVED)
    assert "请核对您对东湖村的评价" in summary.text and "意见：楼道灯坏了很久，希望尽快修" in summary.text
    assert "1. 社区为民服务：5 非常满意" in summary.text and "4. 社区稳定工作：跳过" in summary.text
    await aunt.press("提交")
    assert aunt.last_message.text == T.SUBMITTED
    with session_factory() as s:
        [response] = s.scalars(select(SurveyResponse)).all()
        assert response.comment == "楼道灯坏了很久，希望尽快修"
        assert response.scores == {"service": 5, "vulnerable": 4, "culture": 3, "environment": 4,
                                   "democracy": 4, "social_work": 2, "overall": 5}
    assert surveys_in_progress(session_factory) == 0


async def test_a_restart_in_the_middle_of_the_questions_carries_on(start_bot, resident):
    first = await start_bot()
    aunt = resident(first)
    await aunt.send_command("survey", "V1")
    await aunt.press("5 非常满意")
    await aunt.press("4 满意")
    await first.shutdown()

    aunt = resident(await start_bot())
    await aunt.send_text("一般")  # a typed answer to question 3, to the new process
    assert aunt.last_message.text.startswith("已记录：第 3/8 题：社区文体教育\n您的回答：3 一般")
    assert "第 4/8 题" in aunt.last_message.text
