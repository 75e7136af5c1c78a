"""The departments' scoring form (部门评分表) of the two-way evaluation, as an XLSX file: written for the bureau to
send out, and read back with every row checked. Pure: no database, no Telegram.

    data = write_score_form(form)              # bytes of an .xlsx file: 说明, then one sheet per department
    result = read_score_form(data, form)       # FormImport: scores, bonuses, and errors naming sheet:row

A department sheet has a header row, then per village one row per item it commissioned (得分 0–100 to fill in)
and a last row whose 事项编号 is 加分 (bonus points and their reason). The 说明 sheet holds the town code and the
round code in fixed cells, so that a form filled for another town or round is refused as a whole.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from flows.evaluation.sheet_names import safe_sheet_names
from texts import evaluation_form as T

# ---------------------------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class FormLine:
    """One agreed item a department scores for one village."""

    village_code: str
    village_name: str
    item_id: str  # 'B5'
    item_title: str
    weight: int  # from the agreement file


@dataclass(frozen=True)
class DepartmentForm:
    department: str  # canonical name ('人社局'); its sheet is named after it
    lines: tuple[FormLine, ...]


@dataclass(frozen=True)
class ScoreForm:
    town_code: str
    town_name: str
    round_code: str
    round_label: str
    bonus_max: float  # the most bonus points a department may give one village
    departments: tuple[DepartmentForm, ...]


@dataclass(frozen=True)
class ScoreEntry:
    department: str
    village_code: str
    item_id: str
    score: float  # 0–100
    sheet: str
    row: int  # as Excel numbers it


@dataclass(frozen=True)
class BonusEntry:
    department: str
    village_code: str
    points: float  # 0–bonus_max
    reason: str
    sheet: str
    row: int


@dataclass(frozen=True)
class RowError:
    """What is wrong where: `row` is 1-based as Excel shows it, 0 for the whole sheet; `sheet` '' for the file."""

    sheet: str
    row: int
    message: str

    def __str__(self) -> str:
        if not self.sheet:
            return self.message
        if self.row <= 0:
            return T.ERROR_IN_SHEET.format(sheet=self.sheet, message=self.message)
        return T.ERROR_AT.format(sheet=self.sheet, row=self.row, message=self.message)


@dataclass(frozen=True)
class FormImport:
    scores: tuple[ScoreEntry, ...]
    bonuses: tuple[BonusEntry, ...]
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


class Column(StrEnum):
    """A department sheet's columns, in their order; the value is the header the sheet shows."""

    VILLAGE_CODE = T.HEADER_VILLAGE_CODE
    VILLAGE_NAME = T.HEADER_VILLAGE_NAME
    ITEM_ID = T.HEADER_ITEM_ID
    ITEM_TITLE = T.HEADER_ITEM_TITLE
    WEIGHT = T.HEADER_WEIGHT
    SCORE = T.HEADER_SCORE
    BONUS = T.HEADER_BONUS
    BONUS_REASON = T.HEADER_BONUS_REASON


# The import finds columns by their header, so a department may move or add columns; these it cannot do without.
REQUIRED_COLUMNS = (Column.VILLAGE_CODE, Column.ITEM_ID, Column.SCORE, Column.BONUS, Column.BONUS_REASON)

# Fixed cells of the 说明 sheet (row, column), 1-based; the import compares the codes with the expected form.
TOWN_CODE_CELL = (3, 2)
TOWN_NAME_CELL = (4, 2)
ROUND_CODE_CELL = (5, 2)
ROUND_LABEL_CELL = (6, 2)
_GUIDE_KEEP_ROW = 7
_GUIDE_LINES_ROW = 9

SCORE_MIN, SCORE_MAX = 0.0, 100.0
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_READ_COLUMNS_MAX = 64  # a department sheet has 8 columns; what lies far to the right is no part of the form
_SHOWN_MAX = 30  # characters of a bad cell quoted in an error

# ---------------------------------------------------------------------------------------------- sheet names


def sheet_names(departments: Iterable[str]) -> tuple[str, ...]:
    """The sheet name of each department, in order (说明 is taken)."""
    return safe_sheet_names(departments, taken=(T.GUIDE_SHEET,), fallback=T.SHEET_NAME_FALLBACK)


# ---------------------------------------------------------------------------------------------- writing

_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=13)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_SCORE_FILL = PatternFill("solid", fgColor="FFF2CC")  # the cells to fill in: yellow, as 说明 says
_BONUS_FILL = PatternFill("solid", fgColor="E2EFDA")
_TEXT_FORMAT = "@"  # codes stay text: '0012' keeps its zeros
_WIDTHS = {
    Column.VILLAGE_CODE: 16, Column.VILLAGE_NAME: 16, Column.ITEM_ID: 10, Column.ITEM_TITLE: 44,
    Column.WEIGHT: 8, Column.SCORE: 13, Column.BONUS: 8, Column.BONUS_REASON: 40,
}
_COLUMNS = tuple(Column)


def write_score_form(form: ScoreForm) -> bytes:
    """The form as the bytes of an .xlsx file: 说明, then one sheet per department. Nothing is locked."""
    workbook = Workbook()
    _write_guide(workbook.active, form)
    names = sheet_names(d.department for d in form.departments)
    for department, name in zip(form.departments, names, strict=True):
        _write_department(workbook.create_sheet(name), department, form.bonus_max)
    workbook.properties.title = T.GUIDE_TITLE.format(town=form.town_name, round=form.round_label)
    workbook.properties.creator = "cadrebot"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_guide(ws: Worksheet, form: ScoreForm) -> None:
    ws.title = T.GUIDE_SHEET
    title = ws.cell(row=1, column=1, value=T.GUIDE_TITLE.format(town=form.town_name, round=form.round_label))
    title.font = _TITLE_FONT
    fixed = (
        (TOWN_CODE_CELL, T.TOWN_CODE_LABEL, form.town_code),
        (TOWN_NAME_CELL, T.TOWN_NAME_LABEL, form.town_name),
        (ROUND_CODE_CELL, T.ROUND_CODE_LABEL, form.round_code),
        (ROUND_LABEL_CELL, T.ROUND_LABEL_LABEL, form.round_label),
    )
    for (row, column), label, value in fixed:
        ws.cell(row=row, column=column - 1, value=label).font = _BOLD
        cell = ws.cell(row=row, column=column, value=value)
        cell.number_format = _TEXT_FORMAT
    ws.cell(row=_GUIDE_KEEP_ROW, column=1, value=T.GUIDE_KEEP_CODES)
    for offset, line in enumerate(T.GUIDE_LINES):
        ws.cell(row=_GUIDE_LINES_ROW + offset, column=1, value=line.format(bonus_max=_points(form.bonus_max)))
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 40


def _write_department(ws: Worksheet, department: DepartmentForm, bonus_max: float) -> None:
    column = {c: i for i, c in enumerate(_COLUMNS, 1)}
    for c, index in column.items():
        cell = ws.cell(row=1, column=index, value=c.value)
        cell.font, cell.fill = _BOLD, _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[get_column_letter(index)].width = _WIDTHS[c]
    ws.freeze_panes = "A2"
    bonus_rule = _bonus_validation(bonus_max)
    row = 2
    for code, name, lines in _by_village(department.lines):
        for line in lines:
            _write_cells(ws, row, column, {
                Column.VILLAGE_CODE: code, Column.VILLAGE_NAME: name, Column.ITEM_ID: line.item_id,
                Column.ITEM_TITLE: line.item_title, Column.WEIGHT: line.weight,
            })
            ws.cell(row=row, column=column[Column.SCORE]).fill = _SCORE_FILL
            row += 1
        _write_cells(ws, row, column, {
            Column.VILLAGE_CODE: code, Column.VILLAGE_NAME: name, Column.ITEM_ID: T.BONUS_ROW_ITEM,
            Column.ITEM_TITLE: T.BONUS_ROW_TITLE.format(bonus_max=_points(bonus_max)),
        })
        for c in (Column.BONUS, Column.BONUS_REASON):
            ws.cell(row=row, column=column[c]).fill = _BONUS_FILL
        bonus_rule.add(ws.cell(row=row, column=column[Column.BONUS]).coordinate)
        row += 1
    if row > 2:
        score_rule = _score_validation()
        letter = get_column_letter(column[Column.SCORE])
        score_rule.add(f"{letter}2:{letter}{row - 1}")
        ws.add_data_validation(score_rule)
        ws.add_data_validation(bonus_rule)


def _write_cells(ws: Worksheet, row: int, column: dict[Column, int], values: dict[Column, object]) -> None:
    for c, value in values.items():
        cell = ws.cell(row=row, column=column[c], value=value)
        if c is Column.VILLAGE_CODE:
            cell.number_format = _TEXT_FORMAT


def _by_village(lines: Iterable[FormLine]) -> list[tuple[str, str, list[FormLine]]]:
    """(code, name, lines) per village, villages and items in the order the form lists them."""
    groups: dict[str, tuple[str, str, list[FormLine]]] = {}
    for line in lines:
        groups.setdefault(line.village_code, (line.village_code, line.village_name, []))[2].append(line)
    return list(groups.values())


def _score_validation() -> DataValidation:
    return DataValidation(
        type="decimal", operator="between", formula1=str(SCORE_MIN), formula2=str(SCORE_MAX), allow_blank=True,
        showErrorMessage=True, errorTitle=T.SCORE_REFUSED_TITLE, error=T.SCORE_REFUSED,
        showInputMessage=True, promptTitle=T.SCORE_PROMPT_TITLE, prompt=T.SCORE_PROMPT,
    )


def _bonus_validation(bonus_max: float) -> DataValidation:
    shown = _points(bonus_max)
    return DataValidation(
        type="decimal", operator="between", formula1="0", formula2=str(bonus_max), allow_blank=True,
        showErrorMessage=True, errorTitle=T.BONUS_REFUSED_TITLE, error=T.BONUS_REFUSED.format(bonus_max=shown),
        showInputMessage=True, promptTitle=T.BONUS_PROMPT_TITLE, prompt=T.BONUS_PROMPT.format(bonus_max=shown),
    )


def _points(value: float) -> str:
    """'5' for 5.0, '2.5' for 2.5."""
    return f"{value:g}"


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Sheet:
    """A sheet as read: its non-empty rows by the row number Excel shows."""

    title: str
    rows: dict[int, tuple[object, ...]]

    def cell(self, row: int, column: int) -> object:
        values = self.rows.get(row, ())
        return values[column - 1] if 0 < column <= len(values) else None


@dataclass
class _Found:
    scores: list[ScoreEntry] = field(default_factory=list)
    bonuses: list[BonusEntry] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def result(self) -> FormImport:
        return FormImport(tuple(self.scores), tuple(self.bonuses), tuple(self.errors))


def read_score_form(data: bytes, expected: ScoreForm) -> FormImport:
    """The entries of a filled form and what is wrong with it, each error naming its sheet and row. A form of
    another town or round, or no XLSX at all, gives errors only. Never raises on what the file holds."""
    sheets = _load(data)
    if sheets is None:
        return FormImport((), (), (RowError("", 0, T.NOT_XLSX),))
    found = _Found()
    by_title = {sheet.title: sheet for sheet in sheets}
    guide = by_title.get(T.GUIDE_SHEET)
    if guide is None:
        found.errors.append(RowError(T.GUIDE_SHEET, 0, T.GUIDE_MISSING))
        return found.result()
    found.errors.extend(_guide_errors(guide, expected))
    if found.errors:
        return found.result()  # rows of another town's or round's form are not this one's to check
    names = sheet_names(d.department for d in expected.departments)
    departments = dict(zip(names, expected.departments, strict=True))
    for sheet in sheets:
        if sheet.title == T.GUIDE_SHEET:
            continue
        department = departments.get(sheet.title)
        if department is None:
            found.errors.append(RowError(sheet.title, 0, T.UNKNOWN_SHEET.format(sheet=sheet.title)))
        else:
            _read_department(sheet, department, expected.bonus_max, found)
    return found.result()


def _load(data: bytes) -> list[_Sheet] | None:
    """Every worksheet's non-empty rows, or None when openpyxl cannot read the file as XLSX."""
    try:
        # read_only streams the rows, so a stray cell at row 1,000,000 costs no grid of a million rows.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return [_read_sheet(ws) for ws in workbook.worksheets]
        finally:
            workbook.close()
    except Exception:  # noqa: BLE001 - openpyxl raises anything (BadZipFile, KeyError, ValueError, XML errors) on a file that is no XLSX
        return None


def _read_sheet(ws: Any) -> _Sheet:  # openpyxl's ReadOnlyWorksheet (read_only=True)
    ws.reset_dimensions()  # the size a file states can be wrong (some writers); read every row there is
    rows: dict[int, tuple[object, ...]] = {}
    for number, values in enumerate(ws.iter_rows(max_col=_READ_COLUMNS_MAX, values_only=True), 1):
        # count() first: openpyxl fills a gap in the rows with empty ones, and a stray cell far down makes many.
        if values.count(None) < len(values) and any(not _blank(value) for value in values):
            rows[number] = tuple(values)
    return _Sheet(ws.title, rows)


def _guide_errors(guide: _Sheet, expected: ScoreForm) -> list[RowError]:
    errors = []
    town = _code(guide.cell(*TOWN_CODE_CELL))
    if town != _code(expected.town_code):
        message = T.TOWN_MISMATCH.format(name=expected.town_name, expected=expected.town_code, got=town)
        errors.append(RowError(T.GUIDE_SHEET, TOWN_CODE_CELL[0], message))
    round_code = _code(guide.cell(*ROUND_CODE_CELL))
    if round_code != _code(expected.round_code):
        message = T.ROUND_MISMATCH.format(label=expected.round_label, expected=expected.round_code, got=round_code)
        errors.append(RowError(T.GUIDE_SHEET, ROUND_CODE_CELL[0], message))
    return errors


@dataclass(frozen=True)
class _Lines:
    """A department's lines as the import looks them up: by normalised village code and item ID."""

    villages: dict[str, str]  # normalised code -> the form's code
    items: dict[tuple[str, str], FormLine]  # (normalised code, normalised item ID) -> line

    @classmethod
    def of(cls, department: DepartmentForm) -> _Lines:
        villages = {_code(line.village_code): line.village_code for line in department.lines}
        items = {(_code(line.village_code), _item(line.item_id)): line for line in department.lines}
        return cls(villages, items)


_BONUS_KEY = unicodedata.normalize("NFKC", T.BONUS_ROW_ITEM).upper()


def _read_department(sheet: _Sheet, department: DepartmentForm, bonus_max: float, found: _Found) -> None:
    columns = _columns(sheet.rows.get(1, ()))
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        found.errors.append(RowError(sheet.title, 1, T.HEADER_MISSING.format(column=missing[0].value)))
        return
    lines = _Lines.of(department)
    first_row: dict[tuple[str, str], int] = {}
    for row in sorted(sheet.rows):
        if row == 1:
            continue
        values = sheet.rows[row]

        def cell(c: Column, values: tuple[object, ...] = values) -> object:
            index = columns.get(c)
            return values[index] if index is not None and index < len(values) else None

        _read_row(_At(sheet.title, row, department.department, found), cell, lines, first_row, bonus_max)


@dataclass(frozen=True)
class _At:
    """Where a row is, and where what it yields goes."""

    sheet: str
    row: int
    department: str
    found: _Found

    def error(self, message: str) -> None:
        self.found.errors.append(RowError(self.sheet, self.row, message))


def _read_row(
    at: _At, cell: Callable[[Column], object], lines: _Lines, first_row: dict[tuple[str, str], int], bonus_max: float,
) -> None:
    code, item = _code(cell(Column.VILLAGE_CODE)), _item(cell(Column.ITEM_ID))
    if not code or not item:
        if any(not _blank(cell(c)) for c in (Column.SCORE, Column.BONUS, Column.BONUS_REASON)):
            at.error(T.ROW_WITHOUT_KEY)
        return  # a row of notes, or one emptied: nothing to import
    village_code = lines.villages.get(code)
    if village_code is None:
        at.error(T.UNKNOWN_VILLAGE.format(got=_shown(cell(Column.VILLAGE_CODE))))
        return
    line = lines.items.get((code, item))
    if line is None and item != _BONUS_KEY:
        at.error(T.UNKNOWN_ITEM.format(got=_shown(cell(Column.ITEM_ID))))
        return
    key = (code, item)
    if key in first_row:
        at.error(T.DUPLICATE_ROW.format(first=first_row[key]))
        return
    first_row[key] = at.row
    if line is None:
        _read_bonus_row(at, cell, village_code, bonus_max)
    else:
        _read_item_row(at, cell, line)


def _read_item_row(at: _At, cell: Callable[[Column], object], line: FormLine) -> None:
    if not _blank(cell(Column.BONUS)):
        at.error(T.BONUS_ON_ITEM_ROW)
    raw = cell(Column.SCORE)
    if _blank(raw):
        return  # not scored
    score = _number(raw)
    if score is None or not SCORE_MIN <= score <= SCORE_MAX:
        at.error(T.BAD_SCORE.format(got=_shown(raw)))
        return
    at.found.scores.append(ScoreEntry(at.department, line.village_code, line.item_id, score, at.sheet, at.row))


def _read_bonus_row(at: _At, cell: Callable[[Column], object], village_code: str, bonus_max: float) -> None:
    if not _blank(cell(Column.SCORE)):
        at.error(T.SCORE_ON_BONUS_ROW)
    raw, reason = cell(Column.BONUS), _text(cell(Column.BONUS_REASON))
    if _blank(raw):
        if reason:
            at.error(T.REASON_WITHOUT_BONUS)
        return  # no bonus
    points = _number(raw)
    if points is None or not 0 <= points <= bonus_max:
        at.error(T.BAD_BONUS.format(bonus_max=_points(bonus_max), got=_shown(raw)))
        return
    if points > 0 and not reason:
        at.error(T.BONUS_WITHOUT_REASON.format(points=_points(points)))
        return
    at.found.bonuses.append(BonusEntry(at.department, village_code, points, reason, at.sheet, at.row))


def _columns(header: tuple[object, ...]) -> dict[Column, int]:
    """Column -> 0-based index, by the header's text (full-width brackets or spaces typed in still match)."""
    def key(text: str) -> str:
        return _normalised(text).replace(" ", "")

    wanted = {key(c.value): c for c in Column}
    found: dict[Column, int] = {}
    for index, value in enumerate(header):
        column = wanted.get(key(_text(value)))
        if column is not None and column not in found:
            found[column] = index
    return found


# ---------------------------------------------------------------------------------------------- cell values


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _normalised(text: str) -> str:
    # NFKC folds full-width digits, letters, brackets and spaces (９５, Ｂ５, （）) to the ASCII ones.
    return unicodedata.normalize("NFKC", text).strip()


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _code(value: object) -> str:
    """A code as text: a code that Excel turned into a number (3201 or 3201.0) reads as '3201'."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _normalised(_text(value))


def _item(value: object) -> str:
    return _code(value).upper()  # 'b5' typed by hand is B5


def _number(value: object) -> float | None:
    """95, 95.0, '95', '９５', '95分' -> 95.0; None for anything that is no plain number ('优秀', '一百二', True)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None  # a date, a time
    text = _normalised(value).removesuffix("分").rstrip()
    return float(text) if _NUMBER.fullmatch(text) else None


def _shown(value: object) -> str:
    """A cell as quoted in an error: 120 for 120.0, cut short when long."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _text(value)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


__all__ = [
    "REQUIRED_COLUMNS",
    "ROUND_CODE_CELL",
    "TOWN_CODE_CELL",
    "BonusEntry",
    "Column",
    "DepartmentForm",
    "FormImport",
    "FormLine",
    "RowError",
    "ScoreEntry",
    "ScoreForm",
    "read_score_form",
    "sheet_names",
    "write_score_form",
]
