"""The bureau's /evaluation, as a chat (on SQLite and PostgreSQL): opening a round, its progress, the dossier and
the scoring form as documents, importing a filled form (all of it or nothing), fee payments, reminders, closing
with a confirmation, and the refusals everyone else gets. Also the department role in /start."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from bot import callbacks
from flows.evaluation.basis import EvaluationBasis
from flows.evaluation.dossier_model import fen_of_yuan as parse_amount
from flows.evaluation_bureau import parse_deadline
from handlers.evaluation_bureau import reminder_job
from storage import evaluation as ev
from storage.members import get_member, issue_invite
from storage.models import (
    AuditLog,
    EvaluationBonus,
    EvaluationReminder,
    EvaluationRound,
    EvaluationScore,
    FeePayment,
    Member,
    RoundStatus,
    ScoreSource,
)
from storage.places import add_town, add_village
from tests.bot.conftest import BUREAU_ID, CADRE2_ID, CADRE_ID, RESIDENT_ID, Bot, register
from tests.chat import Chat

DEPARTMENT_ID = 4_300_000_001
ADMIN_ID = 4_400_000_001
OTHER_BUREAU_ID = 4_200_000_002  # the bureau of T1, another town
DEPARTMENT = "人社局"
ROUND = "2026H2"


@dataclass
class Town:
    bot: Bot
    bureau: Chat
    basis: EvaluationBasis


def _rows(session_factory, model, *where):
    with session_factory() as s:
        return list(s.scalars(select(model).where(*where)))


@pytest.fixture
async def town(bot, invite, session_factory, kb) -> Town:
    """The agreement's town DEMO with 东风村 and 新河社区, and its bureau member registered."""
    with session_factory() as s:
        add_town(s, "DEMO", "示范镇")
        add_village(s, "DEMO01", "东风村", "DEMO")
        add_village(s, "DEMO02", "新河社区", "DEMO")
        s.commit()
    bureau = bot.chat(BUREAU_ID, "李主任")
    await register(bureau, invite("bureau", town="DEMO"))
    return Town(bot, bureau, EvaluationBasis.from_raw(kb.raw, bot.settings))


async def _opened(town: Town) -> Chat:
    await town.bureau.send_command("evaluation", "open", ROUND, "2027-01-15")
    return town.bureau


def _round(session_factory) -> EvaluationRound:
    [rnd] = _rows(session_factory, EvaluationRound)
    return rnd


async def _department_member(town: Town, session_factory) -> Chat:
    with session_factory() as s:
        code = issue_invite(s, role="department", town_code="DEMO", department=DEPARTMENT).code
        s.commit()
    staff = town.bot.chat(DEPARTMENT_ID, "赵科长")
    await register(staff, code)
    return staff


def _finish_committee(session_factory, basis: EvaluationBasis, telegram_user_id: int) -> None:
    """Every rating of a village with no red cards: that committee has finished."""
    with session_factory() as s:
        rnd = s.scalars(select(EvaluationRound)).one()
        member = get_member(s, telegram_user_id)
        for department in basis.terms.departments():
            for aspect in basis.scheme.aspects:
                ev.rate_department(s, rnd, member, department, aspect.code, basis.scheme.grades[0].code)
        s.commit()


def _fill(form: bytes, scores: dict[tuple[str, str], object], bonus: tuple[str, object, str] | None = None) -> bytes:
    """The scoring form with 得分 per (village code, item) and one village's bonus on the 人社局 sheet."""
    workbook = load_workbook(io.BytesIO(form))
    sheet = workbook[DEPARTMENT]
    header = [cell.value for cell in sheet[1]]
    code_col, item_col = header.index("村(社区)代码") + 1, header.index("事项编号") + 1
    score_col, bonus_col = header.index("得分(0-100)") + 1, header.index("加分") + 1
    for row in range(2, sheet.max_row + 1):
        key = (sheet.cell(row, code_col).value, sheet.cell(row, item_col).value)
        if key in scores:
            sheet.cell(row, score_col, scores[key])
        if bonus is not None and key == (bonus[0], "加分"):
            sheet.cell(row, bonus_col, bonus[1])
            sheet.cell(row, bonus_col + 1, bonus[2])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _row_of(form: bytes, village_code: str, item_id: str) -> int:
    sheet = load_workbook(io.BytesIO(form))[DEPARTMENT]
    return next(r for r in range(2, sheet.max_row + 1)
                if (sheet.cell(r, 1).value, sheet.cell(r, 3).value) == (village_code, item_id))


async def _form(bureau: Chat) -> bytes:
    [document] = await bureau.press("📋 评分表")
    assert document.kind == "document" and document.document is not None
    name, data, _ = document.document
    assert name == f"示范镇-{ROUND}-部门评分表.xlsx"
    return data


def _job_context(town: Town) -> SimpleNamespace:
    return SimpleNamespace(services=town.bot.services, bot=town.bot.app.bot)


# ---------------------------------------------------------------------------------------------- opening, status


async def test_the_bureau_opens_a_round_by_command_and_sees_its_status(town, session_factory):
    bureau = town.bureau
    await bureau.send_command("evaluation")
    assert "还没有开过" in bureau.last_message.text and "/evaluation open 2026H2" in bureau.last_message.text
    await bureau.send_command("evaluation", "open", ROUND, "2027/1/15")
    opened, status = bureau.replies[-2:]
    assert "已开启" in opened.text and "2027-01-15" in opened.text
    rnd = _round(session_factory)
    assert (rnd.code, rnd.deadline, rnd.status) == (ROUND, date(2027, 1, 15), RoundStatus.OPEN)
    assert {r.reason for r in _rows(session_factory, EvaluationReminder)} == {"3d", "1d"}
    assert "村(社区)评价部门：已完成 0/2" in status.text
    departments = len(town.basis.terms.departments())
    assert f"部门评分：已完成 0/{departments}" in status.text and "东风村" in status.text
    assert {"📄 评估档案", "📋 评分表", "🔔 提醒未完成", "💰 经费台账", "🔒 结束本轮"} <= set(status.button_labels)
    # opening it again changes nothing
    await bureau.send_command("evaluation", "open", ROUND, "2027-01-20")
    assert "已经开过" in bureau.last_message.text
    assert _round(session_factory).deadline == date(2027, 1, 15)
    assert [a.action for a in _rows(session_factory, AuditLog, AuditLog.action == "evaluation_open")] == [
        "evaluation_open"]


async def test_a_bad_deadline_or_round_opens_nothing(town, session_factory):
    bureau = town.bureau
    await bureau.send_command("evaluation", "open", ROUND, "下个月")
    assert "看不懂截止日期" in bureau.last_message.text
    await bureau.send_command("evaluation", "open", "2026H3", "2027-01-15")
    assert "2026H1" in bureau.last_message.text
    await bureau.send_command("evaluation", "open", ROUND)
    assert "用法" in bureau.last_message.text
    assert _rows(session_factory, EvaluationRound) == []


async def test_an_admin_names_the_town_to_open_a_round(town, invite, session_factory):
    admin = town.bot.chat(ADMIN_ID, "管理员")
    await register(admin, invite("admin"))
    await admin.send_command("evaluation", "open", ROUND, "2027-01-15")
    assert "管理员请写明镇(街道)代码" in admin.last_message.text
    assert _rows(session_factory, EvaluationRound) == []
    await admin.send_command("evaluation", "open", "NOWHERE", ROUND, "2027-01-15")
    assert "没有代码为“NOWHERE”" in admin.last_message.text
    await admin.send_command("evaluation", "open", "DEMO", ROUND, "2027-01-15")
    assert "已开启 示范镇" in admin.replies[-2].text and "🔒 结束本轮" in admin.last_message.button_labels
    assert _round(session_factory).code == ROUND
    # the bureau of another town cannot open one for DEMO
    other = town.bot.chat(OTHER_BUREAU_ID, "外镇")
    await register(other, invite("bureau", town="T1"))
    await other.send_command("evaluation", "open", "DEMO", "2027H1", "2027-06-30")
    assert "只有本镇" in other.last_message.text
    assert len(_rows(session_factory, EvaluationRound)) == 1


def test_deadlines_and_amounts_are_read_as_people_write_them():
    today = date(2026, 12, 2)
    assert parse_deadline("2027-01-15", today) == parse_deadline("2027/1/15", today) == date(2027, 1, 15)
    assert parse_deadline("1月15日", today) == date(2027, 1, 15)  # the next 15 January
    assert parse_deadline("12月20日", today) == date(2026, 12, 20)
    assert parse_deadline("２０２７年１月１５日", today) == date(2027, 1, 15)
    assert parse_deadline("2月30日", today) is None and parse_deadline("明天", today) is None
    assert parse_amount("4000") == 400000 and parse_amount("1250.5元") == 125050 and parse_amount("0.01") == 1
    assert parse_amount("0") is None and parse_amount("1.234") is None and parse_amount("-5") is None


# ---------------------------------------------------------------------------------------------- documents


async def test_the_dossier_arrives_as_an_xlsx_and_a_pdf_naming_the_villages(town, tmp_path):
    bureau = await _opened(town)
    sent = await bureau.press("📄 评估档案")
    documents = [m for m in sent if m.kind == "document"]
    assert len(documents) == 2
    by_name = {m.document[0]: m.document[1] for m in documents}
    assert set(by_name) == {f"示范镇-{ROUND}-评估档案.xlsx", f"示范镇-{ROUND}-评估档案.pdf"}
    workbook = load_workbook(io.BytesIO(by_name[f"示范镇-{ROUND}-评估档案.xlsx"]))
    assert len(workbook.sheetnames) > 1
    pdf = tmp_path / "dossier.pdf"
    pdf.write_bytes(by_name[f"示范镇-{ROUND}-评估档案.pdf"])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "东风村" in text and "新河社区" in text


async def test_a_filled_scoring_form_is_imported(town, session_factory):
    bureau = await _opened(town)
    form = await _form(bureau)
    items = [i.item_id for i in town.basis.terms.items_of(DEPARTMENT)]
    assert items and "B1" not in items  # only the department's own items are on its sheet
    scores = {(v, item): 90 + n for n, (v, item) in enumerate((v, i) for v in ("DEMO01", "DEMO02") for i in items)}
    filled = _fill(form, scores, bonus=("DEMO01", 3, "组织了招聘会"))
    await bureau.send_document("人社局评分.xlsx", content=filled)
    reply = bureau.last_message.text
    assert "已导入" in reply and f"{len(scores)} 项得分" in reply and "1 条加分" in reply
    saved = {(s.village_id, s.item_id): s for s in _rows(session_factory, EvaluationScore)}
    assert len(saved) == len(scores)
    assert {s.source for s in saved.values()} == {ScoreSource.XLSX}
    assert sorted(s.score for s in saved.values()) == sorted(float(v) for v in scores.values())
    [bonus] = _rows(session_factory, EvaluationBonus)
    assert (bonus.points, bonus.reason, bonus.source, bonus.department) == (3, "组织了招聘会", "xlsx", DEPARTMENT)
    # the progress shows it: 人社局 has finished
    await bureau.send_command("evaluation")
    assert DEPARTMENT not in bureau.last_message.text.split("未完成的部门：", 1)[-1]


async def test_a_bad_scoring_form_is_refused_naming_sheet_and_row_and_saves_nothing(town, session_factory):
    bureau = await _opened(town)
    form = await _form(bureau)
    item = town.basis.terms.items_of(DEPARTMENT)[0].item_id
    filled = _fill(form, {("DEMO01", item): 95, ("DEMO02", item): 150})
    await bureau.send_document("评分表.xlsx", content=filled)
    reply = bureau.last_message.text
    assert "全部没有导入" in reply
    assert f"{DEPARTMENT}:{_row_of(form, 'DEMO02', item)}" in reply and "150" in reply
    assert _rows(session_factory, EvaluationScore) == []  # not even the good row


async def test_a_form_of_someone_else_is_not_imported(town, session_factory, invite):
    bureau = await _opened(town)
    form = await _form(bureau)
    filled = _fill(form, {("DEMO01", town.basis.terms.items_of(DEPARTMENT)[0].item_id): 95})
    cadre = town.bot.chat(CADRE_ID, "王书记")
    await register(cadre, invite("cadre", "DEMO01"))
    resident = town.bot.chat(RESIDENT_ID, "居民")
    for someone in (cadre, resident):
        await someone.send_document("评分表.xlsx", content=filled)
        assert "只能看懂文字" in someone.last_message.text  # the reply any file gets
    assert _rows(session_factory, EvaluationScore) == []


# ---------------------------------------------------------------------------------------------- fees


async def test_a_payment_is_recorded_and_the_ledger_shows_it(town, session_factory):
    bureau = await _opened(town)
    await bureau.send_command("evaluation", "pay", "东风村", "b5", "1000.50", "第一笔")
    reply = bureau.last_message.text
    assert "已记录" in reply and "东风村" in reply and "B5" in reply and "1,000.50" in reply
    assert "已付 1,000.50" in reply
    [payment] = _rows(session_factory, FeePayment)
    assert (payment.amount_fen, payment.item_id, payment.note) == (100050, "B5", "第一笔")
    await bureau.send_command("evaluation", "pay", "DEMO01", "B5", "500")
    assert "已付 1,500.50" in bureau.last_message.text
    for args, said in ((("东风村", "B5", "很多"), "金额"), (("西山村", "B5", "100"), "没有“西山村”"),
                       (("DEMO01", "B99", "100"), "没有事项"), (("DEMO01",), "用法")):
        await bureau.send_command("evaluation", "pay", *args)
        assert said in bureau.last_message.text
    assert len(_rows(session_factory, FeePayment)) == 2
    await bureau.send_command("evaluation")
    await bureau.press("💰 经费台账")
    ledger = bureau.last_message.text
    assert "经费台账" in ledger and "东风村" in ledger and "新河社区" in ledger and "已付 1,500.50" in ledger


# ---------------------------------------------------------------------------------------------- reminders


async def test_a_reminder_reaches_the_unfinished_and_not_the_finished(town, invite, session_factory):
    bureau = await _opened(town)
    unfinished = town.bot.chat(CADRE_ID, "王书记")
    await register(unfinished, invite("cadre", "DEMO01"))
    finished = town.bot.chat(CADRE2_ID, "张主任")
    await register(finished, invite("cadre", "DEMO02"))
    staff = await _department_member(town, session_factory)
    _finish_committee(session_factory, town.basis, CADRE2_ID)
    before = {chat.user_id: len(chat.replies) for chat in (unfinished, finished, staff)}
    await bureau.send_command("evaluation")
    await bureau.press("🔔 提醒未完成")
    assert "提醒 2 人" in bureau.last_message.text
    await reminder_job(_job_context(town))
    [to_cadre] = unfinished.replies[before[CADRE_ID]:]
    questions = len(town.basis.terms.departments()) * len(town.basis.scheme.aspects)
    assert "2026年年末评估将于1月15日截止" in to_cadre.text and f"还有 {questions} 项未完成" in to_cadre.text
    assert "/evaluation" in to_cadre.text
    [to_staff] = staff.replies[before[DEPARTMENT_ID]:]
    assert f"还有 {2 * len(town.basis.terms.items_of(DEPARTMENT))} 项未完成" in to_staff.text
    assert finished.replies[before[CADRE2_ID]:] == []
    asked = [r for r in _rows(session_factory, EvaluationReminder) if r.reason == "asked"]
    assert [(r.sent_at is not None, r.recipients) for r in asked] == [(True, 2)]
    await reminder_job(_job_context(town))  # sent once only
    assert len(unfinished.replies) == before[CADRE_ID] + 1


# ---------------------------------------------------------------------------------------------- closing


async def test_closing_asks_first_and_then_the_round_is_closed(town, session_factory):
    bureau = await _opened(town)
    status = bureau.last_message
    await bureau.press("🔒 结束本轮")
    assert "确定结束" in bureau.last_message.text
    await bureau.press("取消")
    assert "没有结束" in bureau.last_message.text
    assert _round(session_factory).status == RoundStatus.OPEN
    await bureau.press("🔒 结束本轮", message=status)
    await bureau.press("✅ 确认结束")
    assert "已结束" in bureau.last_message.text
    assert _round(session_factory).status == RoundStatus.CLOSED
    # the old status message's buttons of the open round are refused now, and change nothing
    await bureau.press("🔔 提醒未完成", message=status)
    assert "已结束" in bureau.last_answer
    assert [r.reason for r in _rows(session_factory, EvaluationReminder) if r.reason == "asked"] == []
    await bureau.send_command("evaluation")
    assert "已结束" in bureau.last_message.text and "/evaluation open" in bureau.last_message.text


# ---------------------------------------------------------------------------------------------- who may not


async def test_a_cadre_a_resident_and_another_towns_bureau_get_refusals(town, invite, session_factory):
    bureau = await _opened(town)
    rnd = _round(session_factory)
    cadre = town.bot.chat(CADRE_ID, "王书记")
    await register(cadre, invite("cadre", "DEMO01"))
    resident = town.bot.chat(RESIDENT_ID, "居民")
    other = town.bot.chat(OTHER_BUREAU_ID, "外镇")
    await register(other, invite("bureau", town="T1"))
    # commands: a resident learns nothing; a cadre's /evaluation is the committee's, never the bureau's
    await resident.send_command("evaluation", "open", "2027H1", "2027-06-30")
    assert "只对已注册" in resident.last_message.text and "2026" not in resident.last_message.text
    await cadre.send_command("evaluation", "pay", "DEMO01", "B5", "100")
    assert "已记录" not in cadre.last_message.text
    await other.send_command("evaluation", "pay", "DEMO01", "B5", "100")
    assert "已记录" not in other.last_message.text
    assert _rows(session_factory, FeePayment) == []
    # buttons: the bureau's own button pressed by someone else, and one properly signed for each of them
    _, close = bureau.find_button("🔒 结束本轮")
    await resident.press_data(close)
    assert resident.last_answer == "无法识别这个按钮。"
    secret = town.bot.services.secret
    for someone in (cadre, resident, other):
        await someone.press_data(callbacks.sign(secret, someone.user_id, "eb", rnd.id, "y"))
        assert "只有本镇" in someone.last_answer
    assert _round(session_factory).status == RoundStatus.OPEN


async def test_in_a_group_evaluation_points_to_the_private_chat(town, session_factory):
    group = town.bureau.in_group(-100777, "示范镇工作群")
    await group.send_command("evaluation", "open", ROUND, "2027-01-15")
    assert group.last_message.text == "请在与机器人的私聊中使用此命令。"
    assert _rows(session_factory, EvaluationRound) == []


async def test_a_department_members_start_shows_their_role(town, session_factory):
    staff = await _department_member(town, session_factory)
    assert DEPARTMENT in staff.last_message.text and "示范镇" in staff.last_message.text
    await staff.send_command("start")
    assert DEPARTMENT in staff.last_message.text and "/evaluation" in staff.last_message.text
    await staff.send_command("help")
    assert DEPARTMENT in staff.last_message.text


async def test_a_filled_form_sent_while_the_database_is_down_is_answered_busy_and_saves_nothing(town, session_factory):
    from storage.db import Database

    bureau = await _opened(town)
    form = _fill(await _form(bureau), {("DEMO01", town.basis.terms.items_of(DEPARTMENT)[0].item_id): 90})
    live = town.bot.services.db
    town.bot.services.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    try:
        await bureau.send_document("人社局评分.xlsx", content=form)
        reply = bureau.last_message.text
    finally:
        town.bot.services.db.dispose()
        town.bot.services.db = live
        town.bot.services.database_back()
    assert "繁忙" in reply and "再发" in reply  # not "I only read text": the form is the bureau's, send it again
    assert _rows(session_factory, EvaluationScore) == []


async def test_the_bureau_invites_a_departments_staff_from_the_bot(town, session_factory):
    import re

    bureau = town.bureau
    await bureau.send_command("evaluation", "invite", "人社所")  # the name people use: the invite is 人社局's
    reply = bureau.last_message.text
    assert "人社局" in reply and "/register" in reply
    code = re.search(r"/register (\w+)", reply).group(1)
    staff = town.bot.chat(DEPARTMENT_ID, "赵科长")
    await register(staff, code)
    assert DEPARTMENT in staff.last_message.text
    with session_factory() as s:
        member = s.scalar(select(Member).where(Member.telegram_user_id == DEPARTMENT_ID))
        assert (member.role, member.department, member.town.code) == ("department", "人社局", "DEMO")
    await bureau.send_command("evaluation", "invite", "税务局")  # commissions nothing in this town's agreement
    assert "协议书" in bureau.last_message.text and "人社局" in bureau.last_message.text
    await bureau.send_command("evaluation", "invite")
    assert "用法" in bureau.last_message.text
    # a department member cannot invite anyone (its /evaluation is its own scoring)
    await staff.send_command("evaluation", "invite", "民政局")
    assert "/register" not in staff.last_message.text
