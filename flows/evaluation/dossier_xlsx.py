"""The evaluation dossier as an XLSX workbook: 总览, one sheet per village, one per department.

Every table of flows.evaluation.dossier_tables is written as a title row, a header row and its rows, with a blank row
between tables. Numbers stay numbers (money in yuan with two decimals, scores and means with two, dates as dates),
so the bureau can sum and sort them in Excel; a missing value is its label (样本不足, 未评分, 不定额) as text.

    data = dossier_xlsx(dossier)    # bytes of an .xlsx file
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from flows.evaluation.dossier_model import Dossier
from flows.evaluation.dossier_tables import CellKind, Column, Section, Table, Value, sections
from flows.evaluation.sheet_names import SHEET_NAME_MAX, safe_sheet_names
from texts import evaluation_dossier as T

_NUMBER_FORMATS = {
    CellKind.COUNT: "0",
    CellKind.SCORE: "0.00",
    CellKind.MEAN: "0.00",
    CellKind.MONEY: "#,##0.00",
    CellKind.DATE: "yyyy-mm-dd",
}
_HEADING_FONT = Font(bold=True, size=14)
_TITLE_FONT = Font(bold=True, size=12)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_MAX_WIDTH = 60


def sheet_names(names: Iterable[str]) -> list[str]:
    """Valid, distinct sheet names for the dossier's sheets, in order."""
    return list(safe_sheet_names(names, fallback=T.SHEET_FALLBACK))


def _width(value: object) -> int:
    """Columns a value needs: its longest line, a CJK character counting as two."""
    lines = str(value).split("\n") if value is not None else [""]
    return max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in line) for line in lines)


def _cell_value(value: Value, column: Column) -> Value:
    if value is None:
        return column.missing
    if value == "":
        return None  # an empty cell, not an empty string (a 合计 row's blanks)
    if column.kind is CellKind.MONEY and isinstance(value, int):
        return round(value / 100, 2)  # fen to yuan: exact to the fen in a double
    return value


def _write_cell(ws: Worksheet, row: int, col: int, value: Value, column: Column) -> Cell:
    cell = ws.cell(row=row, column=col, value=_cell_value(value, column))
    if value is not None and not isinstance(value, str):
        cell.number_format = _NUMBER_FORMATS.get(column.kind, "General")
    elif isinstance(value, str) and ("\n" in value or _width(value) > _MAX_WIDTH):
        cell.alignment = _WRAP  # evidence and reasons: wrapped in a column no wider than _MAX_WIDTH
    if column.numeric and isinstance(cell.value, str):
        cell.alignment = Alignment(horizontal="right")
    return cell


def _write_table(ws: Worksheet, row: int, table: Table, widths: dict[int, int]) -> int:
    """Write the table from `row`; the next free row."""
    ws.cell(row=row, column=1, value=table.title).font = _TITLE_FONT
    row += 1
    for col, column in enumerate(table.columns, 1):
        cell = ws.cell(row=row, column=col, value=column.header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        widths[col] = max(widths.get(col, 0), _width(column.header))
    row += 1
    if not table.rows:
        ws.cell(row=row, column=1, value=T.NONE_ROW)
        return row + 1
    for values in table.rows:
        for col, (value, column) in enumerate(zip(values, table.columns, strict=True), 1):
            cell = _write_cell(ws, row, col, value, column)
            shown = cell.value.isoformat() if isinstance(cell.value, date) else cell.value
            widths[col] = max(widths.get(col, 0), _width(f"{shown:,.2f}" if isinstance(shown, float) else shown))
        row += 1
    return row


def _write_section(ws: Worksheet, section: Section) -> None:
    ws.cell(row=1, column=1, value=section.heading).font = _HEADING_FONT
    widths: dict[int, int] = {}
    row = 3
    for table in section.tables:
        row = _write_table(ws, row, table, widths) + 1  # a blank row between tables
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(_MAX_WIDTH, max(8, width + 2))


def dossier_xlsx(d: Dossier) -> bytes:
    """The dossier as the bytes of an .xlsx file."""
    workbook = Workbook()
    parts = sections(d)
    for index, (section, name) in enumerate(zip(parts, sheet_names(s.name for s in parts), strict=True)):
        ws = workbook.active if index == 0 else workbook.create_sheet()
        assert ws is not None  # a new Workbook always has its first sheet
        ws.title = name
        _write_section(ws, section)
    workbook.properties.title = T.TITLE.format(town=d.town_name, round=d.round_label)
    workbook.properties.subject = T.SUBJECT
    workbook.properties.creator = "cadrebot"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = ["SHEET_NAME_MAX", "dossier_xlsx", "sheet_names"]
