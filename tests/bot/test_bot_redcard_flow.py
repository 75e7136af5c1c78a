"""The red-card flow's defects, pinned as chats: a new task while the department is awaited, departments kept as
typed, 撤回 that can be undone, 👍/👎 that leave a mark, /cancel through the router."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from storage.models import PendingAction, RedCard, RedCardEvent, utcnow
from tests.bot.test_bot_check import ASSIST, FORBIDDEN, HUKOU, rows

NEW_TASK = "镇上还让我们每天在群里打卡，还要拍照上传"


async def wait_for_typed_department(cadre) -> None:
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("其他(手动输入)")
    assert "部门名称" in cadre.last_message.text


# ---------------------------------------------------------------------------------------------- the department prompt


async def test_a_new_task_while_the_department_is_awaited_is_checked_and_the_card_keeps_waiting(cadre, session_factory):
    await wait_for_typed_department(cadre)
    answer, note = await cadre.send_text(NEW_TASK)
    # the new task got its own answer, with its own buttons …
    assert answer.text.startswith(("⛔", "⚠️")) and "记为红牌候选" in answer.button_labels
    # … it did not become the department of the earlier card, and the cadre is told that card still waits
    assert rows(session_factory, RedCard) == []
    assert "还在等部门名称" in note.text and FORBIDDEN in note.text
    assert [p.kind for p in rows(session_factory, PendingAction)] == ["redcard_typed"]
    # a short department name later still completes the earlier card
    await cadre.send_text("镇医保办")
    assert "已记为红牌候选：镇医保办" in cadre.last_message.text
    [card] = rows(session_factory, RedCard)
    assert card.task_text == FORBIDDEN and card.department == "镇医保办"
    # and the next text is a task again
    await cadre.send_text(ASSIST)
    assert cadre.last_message.text.startswith("🤝")


async def test_short_task_words_are_no_department_but_short_names_are(cadre, session_factory):
    await wait_for_typed_department(cadre)
    answer, note = await cadre.send_text("打卡")  # a task the lists know, not a name
    assert "还在等部门名称" in note.text and rows(session_factory, RedCard) == []
    await cadre.send_text("城管")  # a known department alias, however short
    assert "已记为红牌候选：城管" in cadre.last_message.text


async def test_a_typed_department_is_kept_as_typed_and_grouped_by_its_canonical_name(cadre, kb, session_factory):
    await wait_for_typed_department(cadre)
    await cadre.send_text("镇医保办")
    assert "已记为红牌候选：镇医保办" in cadre.last_message.text
    assert "医保局" not in cadre.last_message.text
    [card] = rows(session_factory, RedCard)
    assert (card.department, card.department_key) == ("镇医保办", "医保局") == ("镇医保办", kb.departments.canonical("镇医保办"))
    await cadre.send_command("redcards")
    assert "镇医保办" in cadre.last_message.text and "医保局" not in cadre.last_message.text
    # a guessed department (a button) is the canonical name already
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("街道办事处")
    assert {(c.department, c.department_key) for c in rows(session_factory, RedCard)} == {
        ("镇医保办", "医保局"), ("街道办事处", "街道办事处")}


# ---------------------------------------------------------------------------------------------- 撤回 / 撤销


async def _one_card_listed(cadre):
    await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选")
    await cadre.press("街道办事处")
    await cadre.send_command("redcards")
    return cadre.last_message


async def test_withdraw_sits_apart_from_confirm(cadre):
    listing = await _one_card_listed(cadre)
    confirm_row = next(row for row in listing.buttons if any(label == "确认 1" for label, _ in row))
    assert [label for label, _ in confirm_row] == ["确认 1"]  # no 撤回 next to 确认
    assert listing.button_labels.index("撤回 1") > listing.button_labels.index("确认 1")


async def test_a_withdrawal_is_undone_back_to_the_status_it_had(cadre, session_factory):
    await _one_card_listed(cadre)
    await cadre.press("确认 1")
    await cadre.press("撤回 1")
    assert rows(session_factory, RedCard)[0].status == "withdrawn"
    assert "撤销" in cadre.last_answer
    assert "已撤回" in cadre.last_message.text and "↩ 撤销撤回 1" in cadre.last_message.button_labels
    await cadre.press("↩ 撤销撤回 1")
    assert "恢复为“已确认”" in cadre.last_answer
    [card] = rows(session_factory, RedCard)
    assert card.status == "confirmed"
    assert "[已确认]" in cadre.last_message.text and cadre.last_message.button_labels == ["撤回 1"]
    assert [e.action for e in rows(session_factory, RedCardEvent)][-2:] == ["withdrawn", "restored"]


async def test_the_undo_is_valid_for_a_day_and_only_once(cadre, session_factory):
    await _one_card_listed(cadre)
    await cadre.press("撤回 1")
    withdrawn = cadre.last_message
    _, undo = cadre.find_button("↩ 撤销撤回 1", message=withdrawn)
    await cadre.press_data(undo, message=withdrawn)
    assert rows(session_factory, RedCard)[0].status == "candidate"
    await cadre.press_data(undo, message=withdrawn)  # the same 撤销 again: nothing more happens
    assert "已过期或已用过" in cadre.last_answer
    # a later withdrawal, its 撤销 pressed after more than a day
    await cadre.press("撤回 1")
    with session_factory() as s:
        s.execute(update(PendingAction).values(expires_at=utcnow() - timedelta(minutes=1)))
        s.commit()
    await cadre.send_command("redcards")
    assert "↩ 撤销撤回 1" not in cadre.last_message.button_labels  # a listing offers no expired 撤销
    assert rows(session_factory, RedCard)[0].status == "withdrawn"


async def test_an_expired_undo_button_is_refused(cadre, session_factory):
    await _one_card_listed(cadre)
    await cadre.press("撤回 1")
    withdrawn = cadre.last_message
    with session_factory() as s:
        s.execute(update(PendingAction).values(expires_at=utcnow() - timedelta(minutes=1)))
        s.commit()
    await cadre.press("↩ 撤销撤回 1", message=withdrawn)
    assert "已过期" in cadre.last_answer
    assert rows(session_factory, RedCard)[0].status == "withdrawn"
    assert "↩ 撤销撤回 1" not in cadre.last_message.button_labels


# ---------------------------------------------------------------------------------------------- 👍 / 👎


async def test_feedback_shows_the_choice_changes_it_and_a_repeat_is_a_no_op(cadre, session_factory):
    await cadre.send_text(FORBIDDEN)
    answer = cadre.last_message
    await cadre.press("👍")
    assert answer.button_labels == ["记为红牌候选", "📝 生成回复函", "👍 已评", "👎"]  # the other buttons stay
    await cadre.press("👎", message=answer)
    assert answer.button_labels == ["记为红牌候选", "📝 生成回复函", "👍", "👎 已评"]
    assert rows(session_factory, RedCard) == []
    edits = answer.edits
    await cadre.press("👎 已评", message=answer)
    assert cadre.last_answer == "已经记录过了。" and answer.edits == edits
    from storage.models import CheckLog
    assert rows(session_factory, CheckLog)[0].feedback == -1


async def test_none_of_these_marks_the_answer_with_a_thumbs_down(cadre):
    await cadre.send_text(HUKOU)
    answer = cadre.last_message
    await cadre.press("都不是")
    assert "👎 已评" in answer.button_labels


# ---------------------------------------------------------------------------------------------- one card per check


async def test_pressing_red_card_five_times_on_one_answer_reports_it_once(cadre, session_factory):
    [answer] = await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选", message=answer)
    first_question = cadre.last_message
    await cadre.press("记为红牌候选", message=answer)  # pressed again before choosing: the same question
    second_question = cadre.last_message
    assert "哪个部门" in second_question.text
    assert len(rows(session_factory, PendingAction)) == 1
    await cadre.press("街道办事处", message=second_question)
    assert "第 1 次" in cadre.last_message.text
    for _ in range(3):
        await cadre.press("记为红牌候选", message=answer)
        assert cadre.last_message.text.startswith("这条查询已记为红牌候选：街道办事处｜C20")
        assert "本年度共 1 次" in cadre.last_message.text and "累计" not in cadre.last_message.text
    # the first question's keyboard is stale now: it cannot add a second report either
    await cadre.press("街道办事处", message=first_question)
    [card] = rows(session_factory, RedCard)
    assert card.count == 1
    assert [e.action for e in rows(session_factory, RedCardEvent)] == ["created"]
    assert rows(session_factory, PendingAction) == []


async def test_pressing_red_card_again_while_its_department_is_typed_asks_for_it_again(cadre, session_factory):
    [answer] = await cadre.send_text(FORBIDDEN)
    await cadre.press("记为红牌候选", message=answer)
    await cadre.press("其他(手动输入)")
    await cadre.press("记为红牌候选", message=answer)
    assert "请直接发送部门名称" in cadre.last_message.text
    assert [p.kind for p in rows(session_factory, PendingAction)] == ["redcard_typed"]
    await cadre.send_text("镇医保办")
    await cadre.press("记为红牌候选", message=answer)
    assert "已记为红牌候选：镇医保办" in cadre.last_message.text
    [card] = rows(session_factory, RedCard)
    assert card.count == 1


# ---------------------------------------------------------------------------------------------- /cancel


async def test_cancel_ends_the_waiting_card_and_says_so_once(cadre, session_factory):
    await wait_for_typed_department(cadre)
    replies = await cadre.send_command("cancel")
    assert [m.text for m in replies] == ["已取消进行中的操作，未完成的内容没有保存。"]
    assert rows(session_factory, PendingAction) == []
    replies = await cadre.send_command("cancel")
    assert [m.text for m in replies] == ["现在没有进行中的操作，不需要取消。"]
    await cadre.send_text("镇医保办")  # no card waits any more: an ordinary check
    assert rows(session_factory, RedCard) == []
