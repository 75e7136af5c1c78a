"""The departments' scoring form: what the bureau sends out (说明 with the codes, a sheet per department, a 加分 row
per village, the score column marked and validated), what comes back after a department filled it in Excel (the
entries it typed, rows in any order), and every kind of mistake named by the sheet and row Excel shows."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from flows.evaluation.score_form import (
    ROUND_CODE_CELL,
    TOWN_CODE_CELL,
    BonusEntry,
    Column,
    DepartmentForm,
    FormImport,
    FormLine,
    RowError,
    ScoreEntry,
    ScoreForm,
    read_score_form,
    sheet_names,
    write_score_form,
)
from texts import evaluation_form as T

LABOUR = "人社局"
CIVIL = "民政办"
BONUS_MAX = 5.0

EAST = ("320101", "东湖村")
WEST = ("320102", "西山社区")
NORTH = ("320103", "北塘村")  # scored by the civil affairs office only


def line(village: tuple[str, str], item_id: str, title: str, weight: int) -> FormLine:
    return FormLine(village[0], village[1], item_id, title, weight)


def make_form(*departments: DepartmentForm) -> ScoreForm:
    if not departments:
        departments = (
            DepartmentForm(LABOUR, (
                line(EAST, "B5", "就业困难人员认定初审", 60),
                line(EAST, "B6", "城乡居民养老保险参保登记", 40),
                line(WEST, "B5", "就业困难人员认定初审", 100),
            )),
            DepartmentForm(CIVIL, (
                line(WEST, "A3", "低保申请受理", 50),
                line(NORTH, "A3", "低保申请受理", 50),
                line(NORTH, "A7", "临时救助申请受理", 50),
            )),
        )
    return ScoreForm("320100", "城关镇", "2026-H1", "2026年上半年", BONUS_MAX, departments)


FORM = make_form()


# ---------------------------------------------------------------------------------------------- filling, as a department does


def open_form(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def column_of(ws, column: Column) -> int:
    """1-based index of a column, by the header the department sees."""
    header = [cell.value for cell in ws[1]]
    return header.index(column.value) + 1


def row_of(ws, village_code: str, item_id: str) -> int:
    """The row of a (village, item) line; item_id T.BONUS_ROW_ITEM for the village's bonus row."""
    code, item = column_of(ws, Column.VILLAGE_CODE), column_of(ws, Column.ITEM_ID)
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, code).value == village_code and ws.cell(row, item).value == item_id:
            return row
    raise AssertionError(f"no row for {village_code} {item_id}")


Edits = dict[tuple[str, str], dict[Column, object]]


def filled(edits: dict[str, Edits], form: ScoreForm = FORM, data: bytes | None = None) -> bytes:
    """The form with cells typed in: {sheet: {(village code, item ID or 加分): {column: value}}}."""
    workbook = open_form(data if data is not None else write_score_form(form))
    for sheet, rows in edits.items():
        ws = workbook[sheet]
        for (village_code, item_id), cells in rows.items():
            row = row_of(ws, village_code, item_id)
            for column, value in cells.items():
                ws.cell(row, column_of(ws, column), value)
    return save(workbook)


def edited(change: Callable[[Workbook], None], data: bytes | None = None) -> bytes:
    workbook = open_form(data if data is not None else write_score_form(FORM))
    change(workbook)
    return save(workbook)


def append_row(ws, values: dict[Column, object]) -> int:
    row = ws.max_row + 1
    for column, value in values.items():
        ws.cell(row, column_of(ws, column), value)
    return row


def only_error(result: FormImport) -> RowError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def where(error: RowError) -> tuple[str, int]:
    return error.sheet, error.row


# ---------------------------------------------------------------------------------------------- the form as sent


def test_the_guide_comes_first_with_the_codes_the_import_checks() -> None:
    workbook = open_form(write_score_form(FORM))
    assert workbook.sheetnames == [T.GUIDE_SHEET, LABOUR, CIVIL]
    guide = workbook[T.GUIDE_SHEET]
    assert guide.cell(*TOWN_CODE_CELL).value == FORM.town_code
    assert guide.cell(*ROUND_CODE_CELL).value == FORM.round_code
    text = "\n".join(str(cell.value) for row in guide.iter_rows() for cell in row if cell.value)
    assert FORM.town_name in text and FORM.round_label in text
    assert all(instruction.format(bonus_max="5") in text for instruction in T.GUIDE_LINES)


def test_a_department_sheet_lists_its_items_then_a_bonus_row_per_village() -> None:
    ws = open_form(write_score_form(FORM))[LABOUR]
    assert [cell.value for cell in ws[1]] == [c.value for c in Column]
    code, item = column_of(ws, Column.VILLAGE_CODE), column_of(ws, Column.ITEM_ID)
    weight = column_of(ws, Column.WEIGHT)
    rows = [(ws.cell(r, code).value, ws.cell(r, item).value, ws.cell(r, weight).value) for r in range(2, ws.max_row + 1)]
    assert rows == [
        (EAST[0], "B5", 60), (EAST[0], "B6", 40), (EAST[0], T.BONUS_ROW_ITEM, None),
        (WEST[0], "B5", 100), (WEST[0], T.BONUS_ROW_ITEM, None),
    ]
    for column in (Column.SCORE, Column.BONUS, Column.BONUS_REASON):
        assert all(ws.cell(r, column_of(ws, column)).value is None for r in range(2, ws.max_row + 1))


def test_the_score_column_is_marked_validated_and_nothing_is_locked() -> None:
    ws = open_form(write_score_form(FORM))[LABOUR]
    assert ws.freeze_panes == "A2"
    assert not ws.protection.sheet
    score = column_of(ws, Column.SCORE)
    item_rows = [row_of(ws, EAST[0], "B5"), row_of(ws, EAST[0], "B6"), row_of(ws, WEST[0], "B5")]
    header_colour = ws.cell(1, score).fill.fgColor.rgb
    colours = {ws.cell(r, score).fill.fgColor.rgb for r in item_rows}
    assert len(colours) == 1 and ws.cell(item_rows[0], score).fill.fill_type == "solid"
    assert colours != {header_colour} and colours != {ws.cell(item_rows[0], 1).fill.fgColor.rgb}
    rules = [dv for dv in ws.data_validations.dataValidation if ws.cell(item_rows[0], score).coordinate in dv.sqref]
    assert len(rules) == 1
    rule = rules[0]
    assert (rule.type, rule.operator, float(rule.formula1), float(rule.formula2)) == ("decimal", "between", 0, 100)
    assert all(ws.cell(r, score).coordinate in rule.sqref for r in item_rows)


def test_sheet_names_are_safe_for_excel_and_unique() -> None:
    long_name = "区人力资源和社会保障局就业促进与失业保险管理科第一办公室"
    names = sheet_names(["财政/税务:科[一]*?\\", long_name, long_name, "说明", "人社局", "人社局"])
    assert len(set(n.casefold() for n in names)) == len(names)
    assert T.GUIDE_SHEET not in names
    for name in names:
        assert 0 < len(name) <= 31
        assert not set(name) & set("[]:*?/\\")
    assert names[4] == "人社局"


def test_a_department_with_an_unsafe_name_round_trips() -> None:
    department = "财政/税务:科[一]"
    form = make_form(DepartmentForm(department, (line(EAST, "C1", "农村集体资产清查", 100),)))
    (sheet,) = sheet_names([department])
    data = filled({sheet: {(EAST[0], "C1"): {Column.SCORE: 90}}}, form)
    result = read_score_form(data, form)
    assert result.errors == ()
    assert result.scores == (ScoreEntry(department, EAST[0], "C1", 90.0, sheet, 2),)


# ---------------------------------------------------------------------------------------------- filled and read back


def test_what_a_department_fills_in_is_what_the_import_reads() -> None:
    typed: dict[str, Edits] = {
        LABOUR: {
            (EAST[0], "B5"): {Column.SCORE: 95},
            (EAST[0], "B6"): {Column.SCORE: 87.5},
            (EAST[0], T.BONUS_ROW_ITEM): {Column.BONUS: 2, Column.BONUS_REASON: "就业帮扶成效突出"},
            (WEST[0], "B5"): {Column.SCORE: "78"},
        },
        CIVIL: {
            (NORTH[0], "A7"): {Column.SCORE: 100},
            (NORTH[0], T.BONUS_ROW_ITEM): {Column.BONUS: 4.5, Column.BONUS_REASON: "临时救助及时"},
        },
    }
    data = filled(typed)
    result = read_score_form(data, FORM)
    assert result.errors == () and result.ok
    workbook = open_form(data)
    expected_scores = {
        ScoreEntry(sheet, code, item, float(cells[Column.SCORE]), sheet, row_of(workbook[sheet], code, item))  # type: ignore[arg-type]
        for sheet, rows in typed.items() for (code, item), cells in rows.items() if Column.SCORE in cells
    }
    expected_bonuses = {
        BonusEntry(sheet, code, float(cells[Column.BONUS]), str(cells[Column.BONUS_REASON]), sheet,  # type: ignore[arg-type]
                   row_of(workbook[sheet], code, item))
        for sheet, rows in typed.items() for (code, item), cells in rows.items() if Column.BONUS in cells
    }
    assert set(result.scores) == expected_scores and len(result.scores) == len(expected_scores)
    assert set(result.bonuses) == expected_bonuses and len(result.bonuses) == len(expected_bonuses)


def test_an_empty_form_imports_nothing_and_complains_of_nothing() -> None:
    assert read_score_form(write_score_form(FORM), FORM) == FormImport((), (), ())


def test_rows_in_any_order_and_empty_rows_after_them_are_fine() -> None:
    def shuffle_and_pad(workbook: Workbook) -> None:
        ws = workbook[LABOUR]
        rows = [[cell.value for cell in row] for row in ws.iter_rows(min_row=2)]
        for offset, values in enumerate(reversed(rows)):
            for column, value in enumerate(values, 1):
                ws.cell(2 + offset, column, value)
        ws.cell(ws.max_row + 3, 1, "   ")  # a blank-looking cell a few rows down
        ws.cell(ws.max_row + 40, column_of(ws, Column.BONUS_REASON), "")

    data = filled({LABOUR: {(EAST[0], "B6"): {Column.SCORE: 70}, (WEST[0], "B5"): {Column.SCORE: 60}}},
                  data=edited(shuffle_and_pad))
    result = read_score_form(data, FORM)
    assert result.errors == ()
    ws = open_form(data)[LABOUR]
    assert set(result.scores) == {
        ScoreEntry(LABOUR, EAST[0], "B6", 70.0, LABOUR, row_of(ws, EAST[0], "B6")),
        ScoreEntry(LABOUR, WEST[0], "B5", 60.0, LABOUR, row_of(ws, WEST[0], "B5")),
    }
    assert row_of(ws, WEST[0], "B5") < row_of(ws, EAST[0], "B6")  # the order really changed


@pytest.mark.parametrize("typed", ["95", 95, 95.0, "９５", "95分", "９５分", " 95 "])
def test_a_score_typed_the_usual_ways_is_read_as_a_number(typed: object) -> None:
    result = read_score_form(filled({LABOUR: {(EAST[0], "B5"): {Column.SCORE: typed}}}), FORM)
    assert result.errors == ()
    assert [entry.score for entry in result.scores] == [95.0]


def test_full_width_decimals_and_the_bounds_are_accepted() -> None:
    data = filled({LABOUR: {(EAST[0], "B5"): {Column.SCORE: "８７．５"}, (EAST[0], "B6"): {Column.SCORE: 0},
                            (WEST[0], "B5"): {Column.SCORE: "100"}}})
    result = read_score_form(data, FORM)
    assert result.errors == ()
    assert sorted(entry.score for entry in result.scores) == [0.0, 87.5, 100.0]


def test_village_codes_that_excel_turned_into_numbers_still_match() -> None:
    data = filled({LABOUR: {(EAST[0], "B5"): {Column.VILLAGE_CODE: int(EAST[0]), Column.SCORE: 90}}})
    result = read_score_form(data, FORM)
    assert result.errors == ()
    assert [(e.village_code, e.item_id) for e in result.scores] == [(EAST[0], "B5")]


# ---------------------------------------------------------------------------------------------- refused, with sheet and row


@pytest.mark.parametrize("data", [b"", b"this is not a spreadsheet", b"%PDF-1.7\n", b"\xd0\xcf\x11\xe0" + bytes(508)])
def test_a_file_that_is_not_xlsx_is_one_error_about_the_file(data: bytes) -> None:
    result = read_score_form(data, FORM)
    assert result.scores == () and result.bonuses == ()
    error = only_error(result)
    assert where(error) == ("", 0)
    assert str(error) == T.NOT_XLSX


def test_a_zip_that_is_no_workbook_is_not_xlsx() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert where(only_error(read_score_form(buffer.getvalue(), FORM))) == ("", 0)


def test_a_form_of_another_town_is_refused_as_a_whole() -> None:
    data = filled({LABOUR: {(EAST[0], "B5"): {Column.SCORE: 95}}},
                  data=edited(lambda wb: wb[T.GUIDE_SHEET].cell(*TOWN_CODE_CELL, "320200")))
    result = read_score_form(data, FORM)
    error = only_error(result)
    assert where(error) == (T.GUIDE_SHEET, TOWN_CODE_CELL[0])
    assert "320200" in error.message and FORM.town_code in error.message
    assert result.scores == ()


def test_a_form_of_another_round_is_refused_as_a_whole() -> None:
    data = filled({LABOUR: {(EAST[0], "B5"): {Column.SCORE: 95}}},
                  data=edited(lambda wb: wb[T.GUIDE_SHEET].cell(*ROUND_CODE_CELL, "2025-H2")))
    result = read_score_form(data, FORM)
    error = only_error(result)
    assert where(error) == (T.GUIDE_SHEET, ROUND_CODE_CELL[0])
    assert "2025-H2" in error.message
    assert result.scores == ()


def test_a_workbook_without_the_guide_is_refused() -> None:
    result = read_score_form(edited(lambda wb: wb.remove(wb[T.GUIDE_SHEET])), FORM)
    assert where(only_error(result)) == (T.GUIDE_SHEET, 0)


def test_a_sheet_of_no_department_of_the_form_is_named_and_the_others_still_read() -> None:
    def add_sheet(workbook: Workbook) -> None:
        workbook.copy_worksheet(workbook[LABOUR]).title = "交通局"

    data = filled({LABOUR: {(EAST[0], "B5"): {Column.SCORE: 95}}}, data=edited(add_sheet))
    result = read_score_form(data, FORM)
    error = only_error(result)
    assert where(error) == ("交通局", 0)
    assert "交通局" in str(error)
    assert [(e.department, e.score) for e in result.scores] == [(LABOUR, 95.0)]


def test_a_changed_header_is_named_at_row_1() -> None:
    data = edited(lambda wb: wb[LABOUR].cell(1, column_of(wb[LABOUR], Column.SCORE), "分数"))
    error = only_error(read_score_form(data, FORM))
    assert where(error) == (LABOUR, 1)
    assert Column.SCORE.value in error.message


def test_a_village_the_department_does_not_score_is_refused_at_its_row() -> None:
    rows: dict[str, int] = {}

    def add_north(workbook: Workbook) -> None:  # 北塘村 is on the civil affairs office's sheet only
        rows["north"] = append_row(workbook[LABOUR], {Column.VILLAGE_CODE: NORTH[0], Column.ITEM_ID: "B5",
                                                      Column.SCORE: 90})

    result = read_score_form(edited(add_north), FORM)
    error = only_error(result)
    assert where(error) == (LABOUR, rows["north"])
    assert error.message == T.UNKNOWN_VILLAGE.format(got=NORTH[0])
    assert result.scores == ()


def test_an_item_of_another_department_is_refused_at_its_row() -> None:
    rows: dict[str, int] = {}

    def add_foreign_item(workbook: Workbook) -> None:  # A3 is the civil affairs office's item, also for 西山社区
        rows["a3"] = append_row(workbook[LABOUR], {Column.VILLAGE_CODE: WEST[0], Column.ITEM_ID: "A3",
                                                   Column.SCORE: 90})

    result = read_score_form(edited(add_foreign_item), FORM)
    error = only_error(result)
    assert where(error) == (LABOUR, rows["a3"])
    assert error.message == T.UNKNOWN_ITEM.format(got="A3")
    assert result.scores == ()


def test_a_duplicate_row_is_refused_and_names_the_first() -> None:
    rows: dict[str, int] = {}

    def duplicate(workbook: Workbook) -> None:
        ws = workbook[LABOUR]
        rows["first"] = row_of(ws, WEST[0], "B5")
        rows["copy"] = append_row(ws, {Column.VILLAGE_CODE: WEST[0], Column.ITEM_ID: "b5", Column.SCORE: 60})

    data = filled({LABOUR: {(WEST[0], "B5"): {Column.SCORE: 80}}}, data=edited(duplicate))
    result = read_score_form(data, FORM)
    error = only_error(result)
    assert where(error) == (LABOUR, rows["copy"])
    assert str(rows["first"]) in error.message


@pytest.mark.parametrize("typed", ["优秀", "一百二", "九十五", "95-100", 120, -1, "100.5", True, datetime(2026, 5, 1)])
def test_a_score_that_is_no_number_or_outside_0_to_100_is_refused_at_its_row(typed: object) -> None:
    data = filled({CIVIL: {(NORTH[0], "A7"): {Column.SCORE: typed}}})
    result = read_score_form(data, FORM)
    error = only_error(result)
    assert where(error) == (CIVIL, row_of(open_form(data)[CIVIL], NORTH[0], "A7"))
    assert error.message.startswith(T.BAD_SCORE.split("{")[0])
    assert result.scores == ()


def test_a_score_error_reads_as_sheet_row_and_what_was_typed() -> None:
    data = filled({LABOUR: {(WEST[0], "B5"): {Column.SCORE: "一百二"}}})
    error = only_error(read_score_form(data, FORM))
    row = row_of(open_form(data)[LABOUR], WEST[0], "B5")
    assert str(error) == f"{LABOUR}:{row} 得分必须是 0–100 的数字，收到“一百二”"


@pytest.mark.parametrize("typed", ["很多", -1, BONUS_MAX + 0.5, "10分"])
def test_a_bonus_that_is_no_number_negative_or_over_the_maximum_is_refused(typed: object) -> None:
    data = filled({LABOUR: {(WEST[0], T.BONUS_ROW_ITEM): {Column.BONUS: typed, Column.BONUS_REASON: "表现突出"}}})
    result = read_score_form(data, FORM)
    error = only_error(result)
    assert where(error) == (LABOUR, row_of(open_form(data)[LABOUR], WEST[0], T.BONUS_ROW_ITEM))
    assert error.message.startswith(T.BAD_BONUS.split("{")[0]) and "5" in error.message
    assert result.bonuses == ()


@pytest.mark.parametrize("reason", [None, "   "])
def test_a_bonus_without_a_reason_is_refused(reason: str | None) -> None:
    data = filled({LABOUR: {(EAST[0], T.BONUS_ROW_ITEM): {Column.BONUS: 3, Column.BONUS_REASON: reason}}})
    result = read_score_form(data, FORM)
    error = only_error(result)
    assert where(error) == (LABOUR, row_of(open_form(data)[LABOUR], EAST[0], T.BONUS_ROW_ITEM))
    assert error.message == T.BONUS_WITHOUT_REASON.format(points="3")
    assert result.bonuses == ()


def test_a_bonus_of_zero_needs_no_reason() -> None:
    data = filled({LABOUR: {(EAST[0], T.BONUS_ROW_ITEM): {Column.BONUS: 0}}})
    result = read_score_form(data, FORM)
    assert result.errors == ()
    assert [(b.village_code, b.points, b.reason) for b in result.bonuses] == [(EAST[0], 0.0, "")]


def test_a_reason_without_bonus_points_is_refused() -> None:
    data = filled({LABOUR: {(EAST[0], T.BONUS_ROW_ITEM): {Column.BONUS_REASON: "表现突出"}}})
    error = only_error(read_score_form(data, FORM))
    assert where(error) == (LABOUR, row_of(open_form(data)[LABOUR], EAST[0], T.BONUS_ROW_ITEM))
    assert error.message == T.REASON_WITHOUT_BONUS


def test_bonus_points_on_an_item_row_are_refused_not_lost() -> None:
    data = filled({LABOUR: {(EAST[0], "B6"): {Column.SCORE: 90, Column.BONUS: 2, Column.BONUS_REASON: "好"}}})
    result = read_score_form(data, FORM)
    error = only_error(result)
    assert where(error) == (LABOUR, row_of(open_form(data)[LABOUR], EAST[0], "B6"))
    assert error.message == T.BONUS_ON_ITEM_ROW


def test_a_score_on_a_bonus_row_is_refused() -> None:
    data = filled({CIVIL: {(WEST[0], T.BONUS_ROW_ITEM): {Column.SCORE: 90}}})
    error = only_error(read_score_form(data, FORM))
    assert where(error) == (CIVIL, row_of(open_form(data)[CIVIL], WEST[0], T.BONUS_ROW_ITEM))
    assert error.message == T.SCORE_ON_BONUS_ROW


def test_a_score_on_a_row_without_village_code_is_refused() -> None:
    def clear_code(workbook: Workbook) -> None:
        ws = workbook[LABOUR]
        row = row_of(ws, EAST[0], "B6")
        ws.cell(row, column_of(ws, Column.VILLAGE_CODE)).value = None  # cell(..., None) would leave it as it is
        ws.cell(row, column_of(ws, Column.SCORE), 90)

    data = edited(clear_code)
    ws = open_form(data)[LABOUR]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, column_of(ws, Column.SCORE)).value == 90)
    error = only_error(read_score_form(data, FORM))
    assert where(error) == (LABOUR, row)
    assert error.message == T.ROW_WITHOUT_KEY


def test_every_mistake_of_a_sheet_is_reported_and_the_good_rows_still_read() -> None:
    data = filled({LABOUR: {
        (EAST[0], "B5"): {Column.SCORE: "优秀"},
        (EAST[0], "B6"): {Column.SCORE: 88},
        (WEST[0], "B5"): {Column.SCORE: 101},
        (WEST[0], T.BONUS_ROW_ITEM): {Column.BONUS: 1},
    }})
    result = read_score_form(data, FORM)
    ws = open_form(data)[LABOUR]
    assert [where(e) for e in result.errors] == [
        (LABOUR, row_of(ws, EAST[0], "B5")), (LABOUR, row_of(ws, WEST[0], "B5")),
        (LABOUR, row_of(ws, WEST[0], T.BONUS_ROW_ITEM)),
    ]
    assert [(e.item_id, e.score) for e in result.scores] == [("B6", 88.0)]
    assert not result.ok
