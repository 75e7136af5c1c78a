"""部门为各村评分, as chats: a department member scores the town's villages on the agreed items it commissioned
(buttons or typed numbers), gives a bonus with its reason, stops and resumes with /evaluation, and never sees
another department's items; the database holds what was said, with its audit rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot import callbacks
from flows import evaluation_department as flow
from flows.evaluation.basis import EvaluationBasis
from storage import evaluation as ev
from storage.models import AuditLog, EvaluationBonus, EvaluationRound, EvaluationScore, PendingAction, Village
from tests.bot.conftest import CADRE_ID, register

LABOUR = "人社局"  # commissions one agreed item of the demo agreement (B5)
HEALTH = "卫健委"  # commissions two (B7, B8)
LABOUR_ID = 4_300_000_001
HEALTH_ID = 4_300_000_002
VILLAGES = (("DEMO01", "东风村"), ("DEMO02", "新河社区"))


@pytest.fixture
def basis(kb, bot) -> EvaluationBasis:
    return EvaluationBasis.from_raw(kb.raw, bot.services.settings)


@pytest.fixture
def demo_round(bot, session_factory):
    """The agreement's town (DEMO) with two villages, and its round of the current half-year, open."""
    from storage.places import add_town, add_village

    today = date.today()
    with session_factory() as s:
        add_town(s, "DEMO", "示范镇")
        for code, name in VILLAGES:
            add_village(s, code, name, "DEMO")
        rnd = ev.open_round(s, "DEMO", f"{today.year}H{1 if today.month <= 6 else 2}",
                            deadline=today + timedelta(days=30))
        s.commit()
        return rnd.id


async def staff(bot, session_factory, user_id: int, department: str):
    """A department member, registered through /register with a department invite."""
    from storage.members import issue_invite

    with session_factory() as s:
        code = issue_invite(s, role="department", town_code="DEMO", department=department).code
        s.commit()
    chat = bot.chat(user_id, "部门联络员")
    await register(chat, code)
    return chat


@pytest.fixture
async def labour(bot, session_factory, demo_round):
    return await staff(bot, session_factory, LABOUR_ID, LABOUR)


@pytest.fixture
async def health(bot, session_factory, demo_round):
    return await staff(bot, session_factory, HEALTH_ID, HEALTH)


def scores(session_factory) -> dict[tuple[str, str], EvaluationScore]:
    """(village name, item id) -> the score row."""
    with session_factory() as s:
        names = dict(s.execute(select(Village.id, Village.name)).all())
        return {(names[r.village_id], r.item_id): r for r in s.scalars(select(EvaluationScore))}


def bonuses(session_factory) -> dict[str, EvaluationBonus]:
    with session_factory() as s:
        names = dict(s.execute(select(Village.id, Village.name)).all())
        return {names[r.village_id]: r for r in s.scalars(select(EvaluationBonus))}


def audit_actions(session_factory) -> list[str]:
    with session_factory() as s:
        return [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))
                if a.action.startswith("evaluation_") and a.action != "evaluation_open"]


def typed_steps(session_factory) -> list[PendingAction]:
    with session_factory() as s:
        return list(s.scalars(select(PendingAction).where(PendingAction.kind == flow.TYPED)))


def question_header(basis: EvaluationBasis, department: str, village: str, item_id: str, number: int,
                    total: int) -> str:
    item = basis.item_of(department, item_id)
    assert item is not None
    return f"{village} · {item_id} {item.title}（权重 {item.weight}） 第 {number}/{total} 项"


# ---------------------------------------------------------------------------------------------- scoring


async def test_a_department_scores_by_buttons_and_typed_numbers_and_gives_a_bonus(labour, basis, session_factory):
    intro, first = await labour.send_command("evaluation")
    assert LABOUR in intro.text and "共 2 项" in intro.text
    assert first.text.startswith(question_header(basis, LABOUR, "东风村", "B5", 1, 2))
    assert first.button_labels == ["100", "95", "90", "85", "80", "75", "70", "60", "✏️ 其他分数"]

    [bonus_question] = await labour.press("95")
    assert "已评：95 分" in first.text and "✅95" in first.button_labels  # the question shows its answer
    assert bonus_question.text.startswith("东风村 · 加分") and "最多 5 分" in bonus_question.text
    [second] = await labour.press("无加分")
    assert "无加分" in bonus_question.text.splitlines()[-1]
    assert second.text.startswith(question_header(basis, LABOUR, "新河社区", "B5", 2, 2))

    await labour.press("✏️ 其他分数")
    assert "请直接发送分数" in second.text
    note, next_bonus = await labour.send_text("87.5")
    assert "87.5 分" in note.text and "已评：87.5 分" in second.text
    assert next_bonus.text.startswith("新河社区 · 加分")
    note, summary = await labour.send_text("3 组织了招聘会")
    assert "加分 3 分" in note.text and "加分 3 分：组织了招聘会" in next_bonus.text
    assert "各村（社区）加权得分" in summary.text
    assert "东风村：95 分" in summary.text and "新河社区：87.5 分（加分 +3：组织了招聘会）" in summary.text

    given = scores(session_factory)
    assert {key: row.score for key, row in given.items()} == {("东风村", "B5"): 95.0, ("新河社区", "B5"): 87.5}
    assert {row.source for row in given.values()} == {"bot"} and {row.department for row in given.values()} == {LABOUR}
    extra = bonuses(session_factory)
    assert {name: (b.points, b.reason, b.source) for name, b in extra.items()} == {
        "东风村": (0.0, "", "bot"), "新河社区": (3.0, "组织了招聘会", "bot")}
    assert audit_actions(session_factory) == ["evaluation_score", "evaluation_bonus",
                                              "evaluation_score", "evaluation_bonus"]
    assert typed_steps(session_factory) == []


async def test_typed_scores_are_taken_as_people_write_them(labour, session_factory):
    _, first = await labour.send_command("evaluation")
    for typed, expected in (("95分", 95.0), ("９５", 95.0), ("87.5", 87.5), (" 92 分。", 92.0)):
        await labour.press("✏️ 其他分数", message=first)
        await labour.send_text(typed)
        assert scores(session_factory)[("东风村", "B5")].score == expected, typed
        assert f"已评：{expected:g} 分" in first.text


async def test_a_grade_or_a_score_out_of_range_is_refused_with_the_reason(labour, session_factory):
    await labour.send_command("evaluation")
    await labour.press("✏️ 其他分数")
    [refusal] = await labour.send_text("优秀")
    assert "不是分数" in refusal.text and "0–100" in refusal.text
    [refusal] = await labour.send_text("120")
    assert "0–100" in refusal.text and "120" in refusal.text
    [reply] = await labour.send_photo()  # not an answer: the usual reply to a photo
    assert "不是分数" not in reply.text
    assert scores(session_factory) == {}
    await labour.send_text("90")  # the question still waited for its score
    assert scores(session_factory)[("东风村", "B5")].score == 90.0


async def test_a_bonus_needs_a_reason_and_stays_within_the_agreements_limit(labour, basis, session_factory):
    await labour.send_command("evaluation")
    await labour.press("95")
    [refusal] = await labour.send_text("3")
    assert "理由" in refusal.text
    [refusal] = await labour.send_text(f"{basis.terms.bonus_max + 1:g} 组织了招聘会")
    assert f"0–{basis.terms.bonus_max:g} 分" in refusal.text
    [refusal] = await labour.send_text("很好")
    assert "分数" in refusal.text and "理由" in refusal.text
    assert bonuses(session_factory) == {}
    await labour.send_text("2分，协助开展技能培训")
    [bonus] = bonuses(session_factory).values()
    assert (bonus.points, bonus.reason) == (2.0, "协助开展技能培训")


async def test_cancel_stops_the_typed_score(labour, session_factory):
    _, first = await labour.send_command("evaluation")
    await labour.press("✏️ 其他分数")
    replies = await labour.send_command("cancel")
    assert [m.text for m in replies] == ["已取消进行中的操作，未完成的内容没有保存。"]
    assert typed_steps(session_factory) == []
    await labour.send_text("90")  # nobody waits for a score any more
    assert scores(session_factory) == {}
    await labour.press("90", message=first)  # the question's buttons still work
    assert scores(session_factory)[("东风村", "B5")].score == 90.0


async def test_evaluation_resumes_at_the_next_unscored_item(health, basis, session_factory):
    _, first = await health.send_command("evaluation")
    assert first.text.startswith(question_header(basis, HEALTH, "东风村", "B7", 1, 4))
    await health.press("90")
    _, again = await health.send_command("evaluation")  # stopped, then back
    assert again.text.startswith(question_header(basis, HEALTH, "东风村", "B8", 2, 4))
    await health.press("85", message=again)
    _, bonus_question = await health.send_command("evaluation")
    assert bonus_question.text.startswith("东风村 · 加分")
    await health.send_text("无加分")
    _, resumed = await health.send_command("evaluation")
    assert resumed.text.startswith(question_header(basis, HEALTH, "新河社区", "B7", 3, 4))
    assert {key: row.score for key, row in scores(session_factory).items()} == {("东风村", "B7"): 90.0,
                                                                              ("东风村", "B8"): 85.0}
    assert bonuses(session_factory)["东风村"].points == 0


async def test_pressing_an_older_question_changes_that_answer_and_asks_nothing_twice(health, session_factory):
    _, first = await health.send_command("evaluation")
    await health.press("90")
    current = health.last_message
    new = await health.press("70", message=first)
    assert new == [] and "已评：70 分" in first.text and "✅70" in first.button_labels
    assert scores(session_factory)[("东风村", "B7")].score == 70.0
    assert health.last_message is current  # the question asked now still stands
    assert audit_actions(session_factory) == ["evaluation_score", "evaluation_score"]


async def test_the_summary_comes_again_when_a_finished_department_changes_a_score(labour, session_factory):
    _, first = await labour.send_command("evaluation")
    await labour.press("100")
    await labour.press("无加分")
    await labour.press("80")
    await labour.send_text("无加分")
    assert "东风村：100 分" in labour.last_message.text
    [summary] = await labour.press("90", message=first)
    assert "东风村：90 分" in summary.text and "新河社区：80 分" in summary.text


# ---------------------------------------------------------------------------------------------- what a department sees


async def test_a_department_sees_only_its_own_items_and_short_buttons(labour, basis, session_factory):
    await labour.send_command("evaluation")
    await labour.press("95")
    await labour.press("无加分")
    await labour.press("90")
    await labour.send_text("无加分")
    assert "各村（社区）加权得分" in labour.last_message.text
    shown = "\n".join(labour.texts())
    own = {item.item_id for item in basis.terms.items_of(LABOUR)}
    assert own == {"B5"}
    for item in basis.terms.items:
        if item.item_id not in own:  # e.g. B1 of 民政局
            assert f"{item.item_id} " not in shown and item.title not in shown, item.item_id
    data = [d for message in labour.replies for row in message.buttons for _, d in row if d]
    assert data and all(len(d.encode()) <= callbacks.MAX_BYTES for d in data)
    assert {key[1] for key in scores(session_factory)} == own


async def test_a_village_outside_the_town_is_never_asked(labour, session_factory):
    await labour.send_command("evaluation")
    shown = "\n".join(labour.texts())
    assert "东湖村" not in shown and "滨江社区" not in shown  # villages of the fixture's other towns


async def test_someone_elses_forged_or_closed_round_buttons_change_nothing(labour, health, bot, session_factory,
                                                                         demo_round):
    _, first = await labour.send_command("evaluation")
    _, data = labour.find_button("95", message=first)
    await health.press_data(data)  # another member presses it: the tag is not theirs
    assert health.last_answer == "无法识别这个按钮。"
    pending_id = data.split(":")[1]
    await health.press_data(callbacks.sign(bot.services.secret, HEALTH_ID, "ed", pending_id, "95"))
    assert health.last_answer == "这个按钮不是给您的。"
    await labour.press_data(data.replace(":95:", ":96:"))  # a forged score
    assert labour.last_answer == "无法识别这个按钮。"
    with session_factory() as s:
        ev.close_round(s, s.get(EvaluationRound, demo_round))
        s.commit()
    await labour.press("95", message=first)
    assert "已结束" in labour.last_answer and first.buttons == []
    assert scores(session_factory) == {}


async def test_a_busy_database_is_said_and_nothing_is_lost(labour, bot, session_factory):
    from storage.db import Database
    from tests.bot.test_bot_reliability import DEAD_DATABASE

    _, first = await labour.send_command("evaluation")
    live = bot.services.db
    bot.services.db = Database(DEAD_DATABASE)
    try:
        await labour.press("95", message=first)
        assert "系统繁忙" in labour.last_answer
        [reply] = await labour.send_command("evaluation")
        assert "系统繁忙" in reply.text
    finally:
        bot.services.db.dispose()
        bot.services.db = live
        bot.services.database_back()  # skip the few seconds' pause before the database is tried again
    assert scores(session_factory) == {}
    await labour.press("95", message=first)
    assert scores(session_factory)[("东风村", "B5")].score == 95.0


async def test_a_cadre_gets_no_department_questions(bot, demo_round, invite, session_factory):
    cadre = bot.chat(CADRE_ID, "王书记")
    await register(cadre, invite("cadre", "V1"))
    await cadre.send_command("evaluation")
    assert all("加权得分" not in t and "其他分数" not in t for t in cadre.texts())
    assert scores(session_factory) == {}


# ---------------------------------------------------------------------------------------------- typed answers, parsed


@pytest.mark.parametrize(("text", "expected"), [
    ("95", 95.0), ("95分", 95.0), ("９５", 95.0), ("87.5", 87.5), ("100", 100.0), ("0", 0.0), ("95 分", 95.0),
    ("优秀", flow.Problem.NOT_A_SCORE), ("九十五", flow.Problem.NOT_A_SCORE), ("", flow.Problem.NOT_A_SCORE),
    ("101", flow.Problem.SCORE_OUT_OF_RANGE), ("-5", flow.Problem.SCORE_OUT_OF_RANGE),
])
def test_parse_score(text, expected):
    assert flow.parse_score(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("3 组织了招聘会", flow.Bonus(3.0, "组织了招聘会")), ("３分：组织了招聘会", flow.Bonus(3.0, "组织了招聘会")),
    ("2.5组织了招聘会", flow.Bonus(2.5, "组织了招聘会")), ("无加分", flow.Bonus(0.0, "")), ("0", flow.Bonus(0.0, "")),
    ("3", flow.Problem.BONUS_NEEDS_REASON), ("6 组织了招聘会", flow.Problem.BONUS_OUT_OF_RANGE),
    ("组织了招聘会", flow.Problem.NOT_A_BONUS),
    ("1e9 很好", flow.Problem.NOT_A_BONUS),  # not 1 point with the reason "e9 很好"
])
def test_parse_bonus(text, expected):
    assert flow.parse_bonus(text, 5.0) == expected


def test_the_summary_of_a_large_town_with_long_reasons_fits_one_message():
    from handlers.evaluation_department import finished_text

    villages = tuple(flow.VillageResult(f"第{n}村", 95.0, flow.Bonus(3.0, "组织了招聘会" * 100)) for n in range(1, 80))
    text = finished_text(flow.Finished("人社局", "2026年年末评估", villages))
    assert len(text) <= 4096
    assert "第1村" in text and "组织了招聘会" in text and "其余各村见评估档案" in text
