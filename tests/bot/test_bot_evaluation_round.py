"""One whole evaluation round (双向评估) as its users live it, through the chat only (on SQLite and PostgreSQL):
the bureau opens 2026H2; 东风村's committee raises one red card, drops the other and grades every department, while
新河社区's stops half-way; 人社局's staff score both villages in the bot; the bureau imports 民政局's scoring form
(a bad row first), records a fee payment, reminds the unfinished, closes the round and gets the dossier, whose
figures are the ones the users produced.

Storage is used only to set up the town, the members and the red-card candidates, and to read the database at the
end; everything else goes through /evaluation, its buttons, typed text and documents.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import select

import knowledge
from flows.evaluation.basis import EvaluationBasis
from handlers.evaluation_bureau import reminder_job
from storage import redcards
from storage.members import get_member, issue_invite
from storage.models import (
    NO_ITEM,
    CardChoice,
    EvaluationCardDecision,
    EvaluationRound,
    EvaluationScore,
    FeePayment,
    RoundStatus,
    ScoreSource,
    Village,
)
from storage.places import add_town, add_village
from tests.bot.conftest import BUREAU_ID, CADRE2_ID, CADRE_ID, Bot, register
from tests.chat import Chat

ROUND = "2026H2"
DEADLINE = "2027-01-15"  # after the test clock's today (the other evaluation tests open 2026H2 the same way)
IN_ROUND = datetime(2026, 8, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, inside 2026H2
LABOUR, CIVIL = "人社局", "民政局"
LABOUR_ID = 4_300_000_001
AGREEMENT = Path(knowledge.__file__).parent / "data" / "agreements" / "demo.yaml"

RAISED_TASK = "人社局让我们村挨家挨户统计失业人员，还要拍照上传系统"  # B5, the card 东风村 raises
DROPPED_TASK = "民政局让我们周末加班整理低保档案"  # unlisted, the card 东风村 drops
LABOUR_BUTTON_SCORE = 95  # 人社局 → 东风村, pressed
LABOUR_TYPED_SCORE = 87.5  # 人社局 → 新河社区, typed
BONUS = (3, "组织了招聘会")  # 人社局 → 新河社区
PAYMENT_YUAN = 3000


def _rows(session_factory, model, *where) -> list[Any]:
    with session_factory() as s:
        return list(s.scalars(select(model).where(*where)))


def _agreement_weights() -> dict[str, int]:
    """item id -> weight, as the agreement file says."""
    items = yaml.safe_load(AGREEMENT.read_text(encoding="utf-8"))["items"]
    return {item_id: int(item["weight"]) for item_id, item in items.items()}


# ---------------------------------------------------------------------------------------------- setting up


def _town(session_factory) -> None:
    with session_factory() as s:
        add_town(s, "DEMO", "示范镇")
        add_village(s, "DEMO01", "东风村", "DEMO")
        add_village(s, "DEMO02", "新河社区", "DEMO")
        s.commit()


def _confirmed_candidates(session_factory, telegram_user_id: int) -> None:
    """Two confirmed red-card candidates of 东风村 in the half-year, against two departments."""
    with session_factory() as s:
        member = get_member(s, telegram_user_id)
        assert member is not None and member.village_id is not None
        for department, item_id, task in ((LABOUR, "B5", RAISED_TASK), (CIVIL, NO_ITEM, DROPPED_TASK)):
            card = redcards.record_red_card(s, village_id=member.village_id, department=department,
                                            department_key=department, task_text=task, item_id=item_id,
                                            member_id=member.id, now=IN_ROUND).card
            redcards.confirm_red_card(s, card.id, member)
        s.commit()


async def _department_staff(bot: Bot, session_factory) -> Chat:
    with session_factory() as s:
        code = issue_invite(s, role="department", town_code="DEMO", department=LABOUR).code
        s.commit()
    staff = bot.chat(LABOUR_ID, "赵科长")
    await register(staff, code)
    return staff


# ---------------------------------------------------------------------------------------------- what users do


async def _evaluate_departments(cadre: Chat, grades: list[str], stop_after: int | None = None) -> int:
    """/evaluation, then one tap per question: the raised task's card is raised, any other card dropped, and the
    grades go round `grades`. Stops at the summary (a message without buttons) or after `stop_after` taps."""
    [question] = await cadre.send_command("evaluation")
    taps = 0
    while question.buttons and (stop_after is None or taps < stop_after):
        if "🟥 亮红牌" in question.button_labels:
            label = "🟥 亮红牌" if RAISED_TASK in question.text else "不亮牌"
        else:
            label = grades[taps % len(grades)]
        [question] = await cadre.press(label, message=question)
        taps += 1
        assert taps < 500, "the committee's questions never end"
    return taps


def _fill_sheet(form: bytes, department: str, scores: Mapping[tuple[str, str], object]) -> bytes:
    """The scoring form with 得分 per (village code, item id) written on one department's sheet."""
    workbook = load_workbook(io.BytesIO(form))
    sheet = workbook[department]
    header = [cell.value for cell in sheet[1]]
    code_col, item_col = header.index("村(社区)代码") + 1, header.index("事项编号") + 1
    score_col = header.index("得分(0-100)") + 1
    for row in range(2, sheet.max_row + 1):
        key = (sheet.cell(row, code_col).value, sheet.cell(row, item_col).value)
        if key in scores:
            sheet.cell(row, score_col, scores[key])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _row_of(form: bytes, department: str, village_code: str, item_id: str) -> int:
    sheet = load_workbook(io.BytesIO(form))[department]
    header = [cell.value for cell in sheet[1]]
    code_col, item_col = header.index("村(社区)代码") + 1, header.index("事项编号") + 1
    return next(r for r in range(2, sheet.max_row + 1)
                if (sheet.cell(r, code_col).value, sheet.cell(r, item_col).value) == (village_code, item_id))


def _documents(sent) -> dict[str, bytes]:
    return {m.document[0]: m.document[1] for m in sent if m.kind == "document" and m.document is not None}


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    pdf = tmp_path / "dossier.pdf"
    pdf.write_bytes(data)
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _table_value(sheet, label: str) -> Any:
    """The cell right of the first cell that says `label` (the village sheet's 得分汇总 rows)."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value == label:
                return sheet.cell(cell.row, cell.column + 1).value
    raise AssertionError(f"no {label!r} on sheet {sheet.title}")


def _rows_with(sheet, text: str) -> list[list[Any]]:
    return [[c.value for c in row] for row in sheet.iter_rows() if any(text in str(c.value or "") for c in row)]


# ---------------------------------------------------------------------------------------------- the round


@pytest.fixture
def basis(kb, bot) -> EvaluationBasis:
    return EvaluationBasis.from_raw(kb.raw, bot.settings)


@pytest.mark.long
async def test_a_whole_round_through_the_chat(bot, invite, session_factory, basis, tmp_path):
    _town(session_factory)
    bureau = bot.chat(BUREAU_ID, "李主任")
    await register(bureau, invite("bureau", town="DEMO"))
    dongfeng = bot.chat(CADRE_ID, "王书记")
    await register(dongfeng, invite("cadre", "DEMO01"))
    xinhe = bot.chat(CADRE2_ID, "张主任")
    await register(xinhe, invite("cadre", "DEMO02"))
    staff = await _department_staff(bot, session_factory)
    _confirmed_candidates(session_factory, CADRE_ID)
    grades = [g.label for g in basis.scheme.grades]
    departments = basis.terms.departments()

    # 1. the bureau opens the round
    await bureau.send_command("evaluation", "open", ROUND, DEADLINE)
    assert "已开启" in bureau.replies[-2].text and DEADLINE in bureau.replies[-2].text
    assert "村(社区)评价部门：已完成 0/2" in bureau.last_message.text

    # 2. 东风村 decides both cards and grades every department; 新河社区 stops half-way
    taps = await _evaluate_departments(dongfeng, grades)
    assert taps == 2 + len(departments) * len(basis.scheme.aspects)
    summary = dongfeng.last_message
    assert "亮红牌 1 张 · 不亮牌 1 张" in summary.text and f"评价了 {len(departments)} 个部门" in summary.text
    half = len(departments) * len(basis.scheme.aspects) // 2
    assert await _evaluate_departments(xinhe, grades, stop_after=half) == half
    assert xinhe.last_message.buttons  # a question still waits for an answer

    # 3. 人社局 scores both villages (a button, a typed score) and gives 新河社区 a bonus with its reason
    _, first = await staff.send_command("evaluation")
    assert first.text.startswith("东风村 · B5")
    await staff.press(str(LABOUR_BUTTON_SCORE), message=first)
    [second] = await staff.press("无加分")
    assert second.text.startswith("新河社区 · B5")
    await staff.press("✏️ 其他分数", message=second)
    await staff.send_text(str(LABOUR_TYPED_SCORE))
    _, labour_summary = await staff.send_text(f"{BONUS[0]} {BONUS[1]}")
    assert f"东风村：{LABOUR_BUTTON_SCORE} 分" in labour_summary.text
    assert f"新河社区：{LABOUR_TYPED_SCORE} 分（加分 +{BONUS[0]}：{BONUS[1]}）" in labour_summary.text

    # 4. the bureau imports 民政局's scores from the scoring form: a bad row refuses all of it, then it goes in
    [form_message] = await bureau.press("📋 评分表")
    assert form_message.document is not None
    form = form_message.document[1]
    civil_items = [i.item_id for i in basis.terms.items_of(CIVIL)]
    civil_scores: dict[tuple[str, str], float] = {
        (village, item): 70.0 + 3 * n for n, (village, item) in
        enumerate((v, i) for v in ("DEMO01", "DEMO02") for i in civil_items)}
    bad_item = civil_items[1]
    await bureau.send_document("民政局评分.xlsx", content=_fill_sheet(form, CIVIL, {**civil_scores,
                                                                               ("DEMO01", bad_item): 150}))
    refused = bureau.last_message.text
    assert "全部没有导入" in refused and f"{CIVIL}:{_row_of(form, CIVIL, 'DEMO01', bad_item)}" in refused
    assert _rows(session_factory, EvaluationScore, EvaluationScore.department == CIVIL) == []
    await bureau.send_document("民政局评分.xlsx", content=_fill_sheet(form, CIVIL, civil_scores))
    assert "已导入" in bureau.last_message.text and f"{len(civil_scores)} 项得分" in bureau.last_message.text

    # 5. a fee payment, and the ledger shows it
    await bureau.send_command("evaluation", "pay", "DEMO01", "B5", str(PAYMENT_YUAN))
    paid = f"{PAYMENT_YUAN:,}.00"
    assert "已记录" in bureau.last_message.text and f"已付 {paid}" in bureau.last_message.text
    await bureau.send_command("evaluation")
    status = bureau.last_message
    await bureau.press("💰 经费台账", message=status)
    assert "东风村" in bureau.last_message.text and f"已付 {paid}" in bureau.last_message.text

    # 6. reminders reach the unfinished 新河社区 cadre, not the finished 东风村 one nor the finished 人社局
    before = {chat.user_id: len(chat.replies) for chat in (dongfeng, xinhe, staff)}
    await bureau.press("🔔 提醒未完成", message=status)
    assert "提醒 1 人" in bureau.last_message.text
    job_context: Any = SimpleNamespace(services=bot.services, bot=bot.app.bot)  # what the job queue passes
    await reminder_job(job_context)
    [reminded] = xinhe.replies[before[CADRE2_ID]:]
    questions = len(departments) * len(basis.scheme.aspects)
    assert f"还有 {questions - half} 项未完成" in reminded.text and "/evaluation" in reminded.text
    assert dongfeng.replies[before[CADRE_ID]:] == [] and staff.replies[before[LABOUR_ID]:] == []

    # 7. the bureau closes the round; the department's old buttons are refused afterwards
    await bureau.press("🔒 结束本轮", message=status)
    await bureau.press("✅ 确认结束")
    assert "已结束" in bureau.last_message.text
    await staff.press("60", message=first)
    assert "已结束" in (staff.last_answer or "")

    # 8. the dossier: its figures are the ones pressed, typed and imported above
    await bureau.send_command("evaluation")
    documents = _documents(await bureau.press("📄 评估档案"))
    xlsx = documents[f"示范镇-{ROUND}-评估档案.xlsx"]
    pdf = _pdf_text(documents[f"示范镇-{ROUND}-评估档案.pdf"], tmp_path)

    weights = _agreement_weights()
    dongfeng_scores = {"B5": float(LABOUR_BUTTON_SCORE),
                       **{item: score for (village, item), score in civil_scores.items() if village == "DEMO01"}}
    expected = (sum(weights[item] * score for item, score in dongfeng_scores.items())
                / sum(weights[item] for item in dongfeng_scores))
    workbook = load_workbook(io.BytesIO(xlsx))
    assert _table_value(workbook["东风村"], "加权得分") == pytest.approx(expected, abs=0.005)
    assert f"{expected:.2f}" in pdf

    [raised_row] = _rows_with(workbook["东风村"], RAISED_TASK)
    [dropped_row] = _rows_with(workbook["东风村"], DROPPED_TASK)
    assert "亮红牌" in raised_row and "不予追究" in dropped_row and "亮红牌" not in dropped_row
    assert _rows_with(workbook[LABOUR], RAISED_TASK) and not _rows_with(workbook[CIVIL], DROPPED_TASK)
    assert RAISED_TASK in pdf.replace("\n", "") and "不予追究" in pdf
    assert paid in pdf and "东风村" in pdf and "新河社区" in pdf

    # and the database holds what the users said
    assert _rows(session_factory, EvaluationRound)[0].status == RoundStatus.CLOSED
    with session_factory() as s:
        names = dict(s.execute(select(Village.id, Village.name)).all())
        saved = {(names[r.village_id], r.item_id): (r.score, r.source) for r in s.scalars(select(EvaluationScore))}
    assert saved[("东风村", "B5")] == (LABOUR_BUTTON_SCORE, ScoreSource.BOT)  # the press after closing changed nothing
    assert saved[("新河社区", "B5")] == (LABOUR_TYPED_SCORE, ScoreSource.BOT)
    assert {source for (_, item), (_, source) in saved.items() if item in civil_items} == {ScoreSource.XLSX}
    assert sorted(d.decision for d in _rows(session_factory, EvaluationCardDecision)) == sorted(
        [CardChoice.RAISED, CardChoice.DROPPED])
    assert [p.amount_fen for p in _rows(session_factory, FeePayment)] == [PAYMENT_YUAN * 100]
