"""The dossier renders as an XLSX the bureau can compute with (a sheet per village and department, totals and money
as numbers) and as an A4 PDF whose Chinese is real text (pdftotext reads the names, the red cards' evidence and
样本不足 back), both from the same hand-built Dossier: a complete village, one whose satisfaction is suppressed, and
one with an item nobody scored and a fee with no fixed amount."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.digest.fonts import find_cjk_font
from flows.evaluation.dossier_model import (
    Bonus,
    CardDecision,
    DepartmentSection,
    Dossier,
    FeeLine,
    ItemScore,
    Rating,
    RedCardLine,
    SatisfactionLine,
    VillageSection,
    yuan,
)
from flows.evaluation.dossier_pdf import dossier_pdf
from flows.evaluation.dossier_xlsx import SHEET_NAME_MAX, dossier_xlsx
from texts import evaluation_dossier as T

HRSS = "人社局"
HOUSING = "住建局"
ASPECTS = ("服务态度", "办事效率", "政策落实")
LONG_EVIDENCE = (
    "镇人社所要求社区在三天内逐户上门统计辖区内全部灵活就业人员的身份证号码、银行卡号码和家庭住址，"
    "并由社区出具就业情况证明加盖公章后报送，社区没有核实这些信息的职权和手段"
)
SHORT_EVIDENCE = "要求出具无犯罪记录证明"
DROPPED_EVIDENCE = "要求社区代收房屋租赁登记材料"


def _weighted(items: tuple[ItemScore, ...]) -> float | None:
    scored = [i for i in items if i.score is not None]
    weight = sum(i.weight for i in scored)
    return sum(i.weight * (i.score or 0.0) for i in scored) / weight if weight else None


def _fee(village: str, item: ItemScore, agreed: int | None, paid: int) -> FeeLine:
    # A stand-in payment rule: the agreed fee times the score (nothing for an unscored item).
    due = None if agreed is None else agreed * round(item.score or 0) // 100
    return FeeLine(village, item.item_id, item.item_title, item.department, agreed, item.score, due, paid,
                   None if due is None else due - paid)


def _card(village: str, department: str, item: ItemScore | None, count: int, evidence: tuple[str, ...],
          decision: CardDecision) -> RedCardLine:
    return RedCardLine(village, department, item.item_id if item else "", item.item_title if item else "", count,
                       date(2026, 8, 3), date(2026, 11, 20), evidence, decision)


def _rating(village: str, department: str, grades: tuple[str | None, ...]) -> Rating:
    return Rating(village, department, tuple(zip(ASPECTS, grades, strict=True)))


def _village(code: str, name: str, scores: tuple[float | None, float | None], *, responses: int,
             agreed: tuple[int | None, int | None], cards: tuple[RedCardLine, ...] = (),
             bonuses: tuple[Bonus, ...] = ()) -> VillageSection:
    items = (
        ItemScore("B5", "就业困难人员认定初审", HRSS, 60, scores[0]),
        ItemScore("C2", "农村危房改造信息报送", HOUSING, 40, scores[1]),
    )
    weighted = _weighted(items)
    bonus_total = sum(b.points for b in bonuses)
    suppressed = responses < 5
    satisfaction = tuple(
        SatisfactionLine(aspect, responses, None if suppressed else 3.5 + i / 4) for i, aspect in enumerate(ASPECTS)
    )
    fees = tuple(_fee(name, item, fixed, 50_000) for item, fixed in zip(items, agreed, strict=True))
    due = sum(f.due_fen for f in fees if f.due_fen is not None)
    paid = sum(f.paid_fen for f in fees)
    return VillageSection(
        code=code, name=name, item_scores=items, weighted_score=weighted, bonuses=bonuses, bonus_total=bonus_total,
        total_score=None if weighted is None else weighted + bonus_total,
        ratings=(_rating(name, HRSS, ("满意", "基本满意", "满意")), _rating(name, HOUSING, ("不满意", None, "满意"))),
        red_cards=cards, satisfaction_n=responses, satisfaction_suppressed=suppressed, satisfaction=satisfaction,
        fees=fees, due_fen=due, paid_fen=paid, outstanding_fen=due - paid,
    )


def _department(name: str, villages: tuple[VillageSection, ...]) -> DepartmentSection:
    ratings = tuple(r for v in villages for r in v.ratings if r.department == name)
    counts: list[tuple[str, tuple[tuple[str, int], ...]]] = []
    for index, aspect in enumerate(ASPECTS):
        grades = [g for r in ratings if (g := r.grades[index][1]) is not None]
        counts.append((aspect, tuple((g, grades.count(g)) for g in dict.fromkeys(grades))))
    fees = tuple(f for v in villages for f in v.fees if f.department == name)
    due = sum(f.due_fen for f in fees if f.due_fen is not None)
    paid = sum(f.paid_fen for f in fees)
    return DepartmentSection(
        name=name, red_cards=tuple(c for v in villages for c in v.raised_cards if c.department == name),
        ratings=ratings, grade_counts=tuple(counts), fees=fees, due_fen=due, paid_fen=paid, outstanding_fen=due - paid,
    )


def make_dossier(village_names: tuple[str, str, str] = ("城关社区", "东岭村", "西河村"),
                 departments: tuple[str, str] = (HRSS, HOUSING)) -> Dossier:
    full, small, partial = village_names
    hrss_item = ItemScore("B5", "就业困难人员认定初审", HRSS, 60, None)
    villages = (
        _village("V01", full, (92.5, 81.0), responses=12, agreed=(1_200_000, 850_050),
                 bonuses=(Bonus(HOUSING, 2.5, "危房排查提前完成并主动补报台账"),),
                 cards=(_card(full, HRSS, hrss_item, 3, (LONG_EVIDENCE, SHORT_EVIDENCE), CardDecision.RAISED),
                        _card(full, HOUSING, None, 1, (DROPPED_EVIDENCE,), CardDecision.DROPPED))),
        _village("V02", small, (70.0, 88.0), responses=3, agreed=(900_000, 600_000),
                 cards=(_card(small, HOUSING, None, 2, (SHORT_EVIDENCE,), CardDecision.RAISED),)),
        _village("V03", partial, (None, 75.5), responses=8, agreed=(1_000_000, None)),
    )
    return Dossier(
        town_code="T01", town_name="城关镇", round_code="2026H2", round_label="2026年年末评估",
        starts_on=date(2026, 7, 1), ends_on=date(2026, 12, 31), deadline=date(2027, 1, 15), closed=False,
        generated_at=datetime(2026, 12, 2, 5, 0, tzinfo=UTC), agreement_name="城关镇2026年政社互动协议",
        villages=villages, departments=tuple(_department(name, villages) for name in departments),
        notes=(f"{partial}尚有事项未评分",),
    )


# ---------------------------------------------------------------------------------------------- XLSX

Tables = dict[str, tuple[tuple, list[tuple]]]


def read_tables(ws: Worksheet) -> Tables:
    """{table title: (header, rows)} as written below the sheet's heading: title row, header row, rows, blank."""
    rows = [tuple(row) for row in ws.iter_rows(min_row=3, values_only=True)]
    found: Tables = {}
    i = 0
    while i < len(rows):
        if rows[i][0] is None:
            i += 1
            continue
        title, header = rows[i][0], tuple(c for c in rows[i + 1] if c is not None)
        body = []
        i += 2
        while i < len(rows) and any(c is not None for c in rows[i]):
            body.append(tuple(rows[i][: len(header)]))
            i += 1
        found[title] = (header, body)
    return found


def column(table: tuple[tuple, list[tuple]], name: str, key: str) -> Any:
    """The cell under header `name` in the row whose first cell is `key`."""
    header, rows = table
    (row,) = [r for r in rows if r[0] == key]
    return row[header.index(name)]


@pytest.fixture(scope="module")
def dossier() -> Dossier:
    return make_dossier()


@pytest.fixture(scope="module")
def workbook(dossier: Dossier):
    return load_workbook(io.BytesIO(dossier_xlsx(dossier)))


def test_xlsx_has_the_overview_then_a_sheet_per_village_and_department(dossier: Dossier, workbook) -> None:
    expected = [T.SHEET_OVERVIEW, *(v.name for v in dossier.villages), *(d.name for d in dossier.departments)]
    assert workbook.sheetnames == expected


def test_xlsx_overview_totals_and_money_are_the_dossiers_numbers(dossier: Dossier, workbook) -> None:
    villages = read_tables(workbook[T.SHEET_OVERVIEW])[T.TABLE_VILLAGES]
    for v in dossier.villages:
        total = column(villages, T.COL_TOTAL, v.name)
        assert isinstance(total, float) and total == pytest.approx(v.total_score)
        for header, fen in ((T.COL_DUE, v.due_fen), (T.COL_PAID, v.paid_fen), (T.COL_OUTSTANDING, v.outstanding_fen)):
            cell = column(villages, header, v.name)
            assert isinstance(cell, int | float) and not isinstance(cell, bool)
            assert round(cell * 100) == fen
        assert column(villages, T.COL_RAISED, v.name) == len(v.raised_cards)
    small = dossier.villages[1]
    assert column(villages, T.COL_SATISFACTION, small.name) == T.INSUFFICIENT
    assert isinstance(column(villages, T.COL_SATISFACTION, dossier.villages[0].name), float)


def test_xlsx_money_cells_are_yuan_numbers_with_two_decimals(dossier: Dossier, workbook) -> None:
    full = dossier.villages[0]
    ws = workbook[full.name]
    fee = full.fees[1]  # 850,050 fen: an amount with fen in it
    assert fee.agreed_fen is not None
    header, rows = read_tables(ws)[T.TABLE_FEES]
    (row,) = [r for r in rows if r[1] == fee.item_id]
    assert row[header.index(T.COL_AGREED)] == pytest.approx(fee.agreed_fen / 100)
    cells = [c for line in ws.iter_rows() for c in line if c.value == row[header.index(T.COL_AGREED)]]
    assert cells and all(c.data_type == "n" and c.number_format == "#,##0.00" for c in cells)


def test_xlsx_village_sheet_shows_unscored_items_and_unfixed_fees(dossier: Dossier, workbook) -> None:
    partial = dossier.villages[2]
    tables = read_tables(workbook[partial.name])
    scores = tables[T.TABLE_ITEM_SCORES]
    unscored = next(i for i in partial.item_scores if i.score is None)
    assert column(scores, T.COL_SCORE, unscored.item_id) == T.NOT_SCORED
    fees = tables[T.TABLE_FEES]
    (unfixed,) = [r for r in fees[1] if r[1] == next(f for f in partial.fees if f.agreed_fen is None).item_id]
    assert unfixed[fees[0].index(T.COL_AGREED)] == T.NO_FIXED_AMOUNT
    assert unfixed[fees[0].index(T.COL_DUE)] == T.NO_FIXED_AMOUNT
    assert round(column(fees, T.COL_DUE, T.TOTAL_ROW) * 100) == partial.due_fen
    summary = tables[T.TABLE_SUMMARY]
    assert column(summary, T.COL_VALUE, T.COL_TOTAL) == pytest.approx(partial.total_score)


def test_xlsx_village_sheet_has_every_section(dossier: Dossier, workbook) -> None:
    full = dossier.villages[0]
    tables = read_tables(workbook[full.name])
    for title in (T.TABLE_ITEM_SCORES, T.TABLE_BONUSES, T.TABLE_RATINGS_GIVEN, T.TABLE_RED_CARDS,
                  T.TABLE_SATISFACTION, T.TABLE_FEES):
        assert title in tables
    cards = tables[T.TABLE_RED_CARDS]
    evidence = [r[cards[0].index(T.COL_EVIDENCE)] for r in cards[1]]
    assert any(LONG_EVIDENCE in e for e in evidence) and any(DROPPED_EVIDENCE in e for e in evidence)
    decisions = {r[cards[0].index(T.COL_DECISION)] for r in cards[1]}
    assert decisions == {T.DECISION_LABELS[CardDecision.RAISED], T.DECISION_LABELS[CardDecision.DROPPED]}
    assert column(tables[T.TABLE_BONUSES], T.COL_REASON, HOUSING) == full.bonuses[0].reason
    small = read_tables(workbook[dossier.villages[1].name])[T.TABLE_SATISFACTION]
    assert {r[small[0].index(T.COL_MEAN)] for r in small[1]} == {T.INSUFFICIENT}


def test_xlsx_department_sheet_has_cards_grades_and_fees(dossier: Dossier, workbook) -> None:
    housing = next(d for d in dossier.departments if d.name == HOUSING)
    tables = read_tables(workbook[HOUSING])
    cards = tables[T.TABLE_RED_CARDS_RECEIVED]
    assert [r[0] for r in cards[1]] == [c.village_name for c in housing.red_cards]
    counts = tables[T.TABLE_GRADE_COUNTS]
    for aspect, grades in housing.grade_counts:
        for grade, count in grades:
            assert column(counts, grade, aspect) == count
    fees = tables[T.TABLE_FEES_OWED]
    assert round(column(fees, T.COL_OUTSTANDING, T.TOTAL_ROW) * 100) == housing.outstanding_fen


def test_xlsx_sheet_names_are_valid_and_distinct_when_names_collide() -> None:
    long = "城关镇某某街道办事处下辖的第一居民委员会社区服务中心"  # longer than 31 characters
    dossier = make_dossier((long + "甲", long + "乙", "西河村"), ("人社局/社保所", "住建局[城建]"))
    workbook = load_workbook(io.BytesIO(dossier_xlsx(dossier)))
    names = workbook.sheetnames
    assert len(names) == 1 + len(dossier.villages) + len(dossier.departments)
    assert len({n.casefold() for n in names}) == len(names)
    assert all(len(n) <= SHEET_NAME_MAX and not re.search(r"[\[\]:*?/\\]", n) for n in names)
    # Each colliding village still gets its own sheet with its own section heading.
    headings = {workbook[n]["A1"].value for n in names}
    assert {T.SECTION_VILLAGE.format(name=v.name) for v in dossier.villages} <= headings


# ---------------------------------------------------------------------------------------------- PDF


@pytest.fixture(scope="module")
def pdf_text(dossier: Dossier, tmp_path_factory: pytest.TempPathFactory) -> str:
    font = find_cjk_font()
    data = dossier_pdf(dossier, Path(font.path), font.index)
    assert data.startswith(b"%PDF")
    path = tmp_path_factory.mktemp("dossier") / "dossier.pdf"
    path.write_bytes(data)
    # -raw: the content stream's order, so a wrapped cell's lines stay together.
    done = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _section(text: str, heading: str, following: str | None) -> str:
    start = text.index(heading)
    return text[start: text.index(following, start) if following else None]


def test_pdf_has_every_village_and_department_as_text(dossier: Dossier, pdf_text: str) -> None:
    assert T.TITLE.format(town=dossier.town_name, round=dossier.round_label) in pdf_text
    for v in dossier.villages:
        assert T.SECTION_VILLAGE.format(name=v.name) in pdf_text
    for d in dossier.departments:
        assert T.SECTION_DEPARTMENT.format(name=d.name) in pdf_text


def test_pdf_wraps_long_evidence_and_keeps_all_of_it(pdf_text: str) -> None:
    assert LONG_EVIDENCE in _squeezed(pdf_text)
    assert not any(LONG_EVIDENCE in line for line in pdf_text.splitlines())  # it did not run off the page


def test_pdf_says_insufficient_sample_only_where_satisfaction_is_suppressed(dossier: Dossier, pdf_text: str) -> None:
    headings = [T.SECTION_VILLAGE.format(name=v.name) for v in dossier.villages]
    headings.append(T.SECTION_DEPARTMENT.format(name=dossier.departments[0].name))
    text = {v.name: _section(pdf_text, headings[i], headings[i + 1]) for i, v in enumerate(dossier.villages)}
    full, small, _ = dossier.villages
    assert T.INSUFFICIENT in text[small.name]
    assert T.INSUFFICIENT not in text[full.name]


def test_pdf_shows_money_and_missing_values_as_the_xlsx_does(dossier: Dossier, pdf_text: str) -> None:
    full, _, partial = dossier.villages
    assert yuan(full.fees[1].agreed_fen) in pdf_text  # an amount with fen in it, as the XLSX's #,##0.00 shows it
    partial_text = _section(pdf_text, T.SECTION_VILLAGE.format(name=partial.name),
                            T.SECTION_DEPARTMENT.format(name=dossier.departments[0].name))
    assert T.NOT_SCORED in partial_text and T.NO_FIXED_AMOUNT in partial_text
    assert full.bonuses[0].reason in _squeezed(pdf_text)
