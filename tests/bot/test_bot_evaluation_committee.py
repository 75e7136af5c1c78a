"""The committee evaluates the departments, as a chat (on SQLite and PostgreSQL): the red-card questions with their
evidence, the grades, stopping and resuming with /evaluation, changing an answer, and the buttons nobody else
(another user, another village, a closed round) can use.

/evaluation is handlers.evaluation's dispatcher, which hands a cadre to handlers.evaluation_committee.start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import callbacks
from flows.evaluation.basis import EvaluationBasis
from storage import evaluation as ev
from storage import redcards
from storage.members import get_member
from storage.models import (
    NO_ITEM,
    AuditLog,
    CardChoice,
    EvaluationCardDecision,
    EvaluationRating,
    EvaluationRound,
    RedCard,
)
from storage.places import add_town, add_village
from tests.bot.conftest import CADRE2_ID, CADRE_ID, Bot, register
from tests.chat import Chat, NoSuchButton

ROUND = "2026H2"
IN_ROUND = datetime(2026, 8, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, inside 2026H2
TASK_ITEM = "镇里让我们村帮忙收退役军人信息表，周五前交齐"
TASK_UNLISTED = "要求我们每天在工作群里拍照打卡，晚上九点前上报"
LATER_TASK = "又让我们补报一次退役军人信息表"


@dataclass
class Evaluation:
    bot: Bot
    cadre: Chat
    round_id: int
    department: str
    card_item: int  # the card of an agreed item (reported twice)
    card_unlisted: int  # the card of an unlisted task
    total: int  # questions in all
    item_title: str


def _rows(session_factory, model, *where):
    with session_factory() as s:
        return list(s.scalars(select(model).where(*where)))


@pytest.fixture
async def evaluation(bot, invite, session_factory, kb) -> Evaluation:
    """Town DEMO (the agreement's) with 东湖村 and 西山村, its round 2026H2 opened, and the cadre of 东湖村 with two
    confirmed red cards (an agreed item reported twice, an unlisted task) of the agreement's first department."""
    basis = EvaluationBasis.from_raw(kb.raw, bot.settings)
    department = basis.terms.departments()[0]
    item = basis.terms.items_of(department)[0]
    with session_factory() as s:
        add_town(s, "DEMO", "示范镇")
        add_village(s, "DEMO01", "东湖村", "DEMO")
        add_village(s, "DEMO02", "西山村", "DEMO")
        s.commit()
    cadre = bot.chat(CADRE_ID, "王书记")
    await register(cadre, invite("cadre", "DEMO01"))
    with session_factory() as s:
        rnd = ev.open_round(s, "DEMO", ROUND, deadline=date(2027, 1, 15), now=IN_ROUND)
        member = get_member(s, CADRE_ID)
        assert member is not None and member.village_id is not None
        cards = []
        for item_id, task in ((item.item_id, TASK_ITEM), (NO_ITEM, TASK_UNLISTED)):
            result = redcards.record_red_card(s, village_id=member.village_id, department=department,
                                              department_key=department, task_text=task, item_id=item_id,
                                              member_id=member.id, now=IN_ROUND)
            cards.append(result.card.id)
        redcards.record_red_card(s, village_id=member.village_id, department=department, department_key=department,
                                 task_text=LATER_TASK, item_id=item.item_id, member_id=member.id,
                                 now=IN_ROUND + timedelta(days=30))
        for card_id in cards:
            redcards.confirm_red_card(s, card_id, member)
        s.commit()
        total = 2 + len(basis.terms.departments()) * len(basis.scheme.aspects)
        return Evaluation(bot, cadre, rnd.id, department, cards[0], cards[1], total, basis.item_titles[item.item_id])


def _decisions(session_factory) -> dict[int, str]:
    return {d.red_card_id: d.decision for d in _rows(session_factory, EvaluationCardDecision)}


def _ratings(session_factory) -> dict[tuple[str, str], str]:
    return {(r.department, r.aspect_code): r.grade_code for r in _rows(session_factory, EvaluationRating)}


def _all_button_data(chat: Chat) -> list[str]:
    return [data for message in chat.replies for row in message.buttons for _, data in row if data]


# ---------------------------------------------------------------------------------------------- the way through


async def test_a_committee_raises_drops_grades_stops_and_resumes(evaluation, session_factory):
    e, cadre = evaluation, evaluation.cadre
    [first] = await cadre.send_command("evaluation")
    # the evidence of the first card: department, item, count, dates, the tasks as sent
    assert e.department in first.text and e.item_title in first.text
    assert "2 次" in first.text and "2026-08-03" in first.text and "2026-09-02" in first.text
    assert f"「{TASK_ITEM}」" in first.text and f"「{LATER_TASK}」" in first.text
    assert f"第 1/{e.total} 题" in first.text
    assert first.button_labels == ["🟥 亮红牌", "不亮牌"]

    [second] = await cadre.press("🟥 亮红牌")
    assert cadre.last_answer == "已保存"
    answered = cadre.replies[-2]
    assert "🟥 亮红牌" in answered.text and answered.button_labels == ["改"]  # the choice shown, no answer buttons
    assert "清单外事项" in second.text and f"「{TASK_UNLISTED}」" in second.text and "1 次" in second.text

    [rating] = await cadre.press("不亮牌")
    assert f"{e.department} · 行政指导" in rating.text and f"第 3/{e.total} 题" in rating.text
    # a department's first aspect also offers its grade for all its aspects at once
    assert rating.button_labels == ["好", "较好", "一般", "差", "各项都好", "各项都较好", "各项都一般", "各项都差"]
    assert _decisions(session_factory) == {e.card_item: CardChoice.RAISED, e.card_unlisted: CardChoice.DROPPED}

    [next_rating] = await cadre.press("较好")
    assert "社会服务" in next_rating.text and f"第 4/{e.total} 题" in next_rating.text
    assert "较好" in cadre.replies[-2].text and cadre.replies[-2].button_labels == ["改"]
    assert _ratings(session_factory) == {(e.department, "guidance"): "fairly_good"}

    assert next_rating.button_labels == ["好", "较好", "一般", "差"]  # not the department's first aspect

    # stopped half-way: /evaluation comes back at the next unanswered question, not at the start
    [resumed] = await cadre.send_command("evaluation")
    assert "社会服务" in resumed.text and f"第 4/{e.total} 题" in resumed.text
    assert "亮红牌" not in resumed.button_labels

    actions = [a.action for a in _rows(session_factory, AuditLog)]
    assert actions.count("evaluation_card") == 2 and actions.count("evaluation_rating") == 1


async def test_an_answer_is_changed_with_its_change_button(evaluation, session_factory):
    e, cadre = evaluation, evaluation.cadre
    await cadre.send_command("evaluation")
    await cadre.press("🟥 亮红牌")
    answered = cadre.replies[-2]
    shown_before = len(cadre.replies)
    await cadre.press("改", message=answered)
    reopened = cadre.replies[-2]
    assert reopened.button_labels == ["🟥 亮红牌", "不亮牌"] and "现在的选择：🟥 亮红牌" in reopened.text
    new = await cadre.press("不亮牌", message=reopened)
    assert cadre.last_answer == "已修改" and new == []  # the question being asked now stays the current one
    assert len(cadre.replies) == shown_before
    assert "不亮牌" in cadre.replies[-2].text
    assert _decisions(session_factory) == {e.card_item: CardChoice.DROPPED}


async def test_the_last_answer_brings_the_summary(evaluation, session_factory):
    e, cadre = evaluation, evaluation.cadre
    await cadre.send_command("evaluation")
    await cadre.press("🟥 亮红牌")
    await cadre.press("不亮牌")
    for _ in range(e.total - 2):
        await cadre.press("好")
    summary = cadre.last_message
    assert "亮红牌 1 张 · 不亮牌 1 张" in summary.text and summary.buttons == []
    departments = len({d for d, _ in _ratings(session_factory)})
    assert f"评价了 {departments} 个部门" in summary.text and departments == (e.total - 2) // 4
    [again] = await cadre.send_command("evaluation")
    assert "亮红牌 1 张" in again.text


# ---------------------------------------------------------------------------------------------- refused buttons


async def test_a_button_of_a_closed_round_is_refused(evaluation, session_factory):
    e, cadre = evaluation, evaluation.cadre
    await cadre.send_command("evaluation")
    with session_factory() as s:
        ev.close_round(s, s.get(EvaluationRound, e.round_id))
        s.commit()
    await cadre.press("🟥 亮红牌")
    assert "已结束" in cadre.last_answer
    assert _decisions(session_factory) == {}
    assert cadre.last_message.buttons == []  # the dead keyboard is gone
    [reply] = await cadre.send_command("evaluation")
    assert "没有进行中的评估" in reply.text


async def test_another_users_or_another_villages_cadre_cannot_touch_the_cards(evaluation, invite, session_factory):
    e, cadre = evaluation, evaluation.cadre
    [question] = await cadre.send_command("evaluation")
    _, raise_data = cadre.find_button("🟥 亮红牌", message=question)
    neighbour = e.bot.chat(CADRE2_ID, "李主任")
    await register(neighbour, invite("cadre", "DEMO02"))
    # the button itself, pressed by someone else: it is bound to the cadre it was sent to
    await neighbour.press_data(raise_data, message=question)
    assert neighbour.last_answer == "无法识别这个按钮。"
    # a button made out for the neighbour, pointing at the cadre's question: not theirs
    pending_id = raise_data.split(":")[1]
    forged = callbacks.sign(e.bot.services.secret, CADRE2_ID, "ec", pending_id, "r")
    await neighbour.press_data(forged, message=question)
    assert neighbour.last_answer == "这个按钮不是给您的。"
    assert _decisions(session_factory) == {}
    # and the neighbour's own evaluation shows none of 东湖村's cards
    [own] = await neighbour.send_command("evaluation")
    assert TASK_ITEM not in own.text and "亮红牌" not in own.button_labels
    with pytest.raises(NoSuchButton):
        neighbour.find_button("🟥 亮红牌", message=own)


async def test_a_forged_grade_is_refused(evaluation, session_factory):
    e, cadre = evaluation, evaluation.cadre
    await cadre.send_command("evaluation")
    await cadre.press("🟥 亮红牌")
    [rating] = await cadre.press("不亮牌")
    _, data = cadre.find_button("好", message=rating)
    pending_id = data.split(":")[1]
    await cadre.press_data(callbacks.sign(e.bot.services.secret, CADRE_ID, "ec", pending_id, "g9"), message=rating)
    assert "选项无效" in cadre.last_answer
    await cadre.press_data(callbacks.sign(e.bot.services.secret, CADRE_ID, "ec", 999999, "r"), message=rating)
    assert "已失效" in cadre.last_answer
    assert _ratings(session_factory) == {}


async def test_in_a_group_the_evaluation_reveals_nothing(evaluation, session_factory):
    group = evaluation.cadre.in_group(-100777, "东湖村居民群")
    [reply] = await group.send_command("evaluation")
    assert reply.buttons == [] and evaluation.department not in reply.text and TASK_ITEM not in reply.text
    assert _decisions(session_factory) == {}


# ---------------------------------------------------------------------------------------------- Telegram's limits


async def test_long_evidence_is_cut_to_one_message_and_buttons_fit(evaluation, session_factory):
    e, cadre = evaluation, evaluation.cadre
    long_task = "镇里要求村里每周统计并上报辖区内全部人员的详细情况" * 12
    with session_factory() as s:
        card = s.get(RedCard, e.card_item)
        for day in range(40):
            redcards.record_red_card(s, village_id=card.village_id, department=card.department,
                                     department_key=card.department_key, task_text=f"{day}：{long_task}",
                                     item_id=card.item_id, now=IN_ROUND + timedelta(days=day + 1))
        s.commit()
    [question] = await cadre.send_command("evaluation")
    assert "42 次" in question.text and "另有" in question.text and len(question.text) <= 4096
    await cadre.press("🟥 亮红牌")
    await cadre.press("不亮牌")
    await cadre.press("一般")
    data = _all_button_data(cadre)
    assert data and max(len(d.encode()) for d in data) <= callbacks.MAX_BYTES


async def test_one_tap_grades_every_aspect_of_a_department_left_ungraded(evaluation, session_factory):
    """各项都较好 on a department's first aspect grades its aspects still open; one graded before keeps its grade."""
    e = evaluation
    cadre = e.cadre
    await cadre.send_command("evaluation")
    await cadre.press("🟥 亮红牌")
    [rating] = await cadre.press("不亮牌")
    assert f"{e.department} · 行政指导" in rating.text
    with session_factory() as s:  # 社会服务 graded already (say, on another phone)
        rnd = s.get(EvaluationRound, e.round_id)
        ev.rate_department(s, rnd, get_member(s, CADRE_ID), e.department, "service", "poor")
        s.commit()
    [after] = await cadre.press("各项都较好")
    assert e.department not in after.text  # the next question is the next department's first aspect
    assert "各项都好" in after.button_labels
    graded = {aspect: grade for (dep, aspect), grade in _ratings(session_factory).items() if dep == e.department}
    assert graded == {"guidance": "fairly_good", "service": "poor", "interference": "fairly_good",
                      "fees": "fairly_good"}
    assert f"第 7/{e.total} 题" in after.text  # 2 cards + 4 aspects answered
