"""The digest as files: an XLSX report (sheets 概览, 村社区, 红牌候选, 满意度分项, 意见) and CSV exports, one file
per table, in UTF-8 with a BOM (so Excel shows the Chinese). Both are built from `bot.digest.tables`, so they
hold the same numbers as each other and as the text.

    data = render_xlsx(digest)                  # bytes of an .xlsx file
    data = render_csv_zip(digest)               # a zip of <key>.csv, one per table
    data = render_csv_table(digest, "villages") # one table's CSV, starting with the UTF-8 BOM
"""

from __future__ import annotations

import csv
import io
import zipfile

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.digest.model import Digest
from bot.digest.tables import Sheet, Table, sheets, tables
from storage.timeutil import local_now
from texts import digest as T

BOM = "\ufeff"
_TITLE_FONT = Font(bold=True, size=12)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_MAX_WIDTH = 60


def _width(value: object) -> int:
    text = "" if value is None else str(value)
    # CJK characters are about two columns wide.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _write_sheet(workbook: Workbook, sheet: Sheet, first: bool) -> None:
    ws = workbook.active if first else workbook.create_sheet()
    ws.title = sheet.name
    widths: dict[int, int] = {}
    row = 1
    for index, table in enumerate(sheet.tables):
        if index:
            row += 1  # a blank row between tables
        ws.cell(row=row, column=1, value=table.title).font = _TITLE_FONT
        row += 1
        for col, name in enumerate(table.header, 1):
            cell = ws.cell(row=row, column=col, value=name)
            cell.font = _HEADER_FONT
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(horizontal="center")
            widths[col] = max(widths.get(col, 0), _width(name))
        if index == 0 and len(sheet.tables) == 1:
            ws.freeze_panes = ws.cell(row=row + 1, column=1)
        row += 1
        for values in table.rows:
            for col, value in enumerate(values, 1):
                cell = ws.cell(row=row, column=col, value=value)
                if isinstance(value, float):
                    cell.number_format = "0.00"
                widths[col] = max(widths.get(col, 0), _width(value))
            row += 1
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(_MAX_WIDTH, max(8, width + 2))


def render_xlsx(digest: Digest) -> bytes:
    workbook = Workbook()
    for i, sheet in enumerate(sheets(digest)):
        _write_sheet(workbook, sheet, first=(i == 0))
    workbook.properties.title = T.CHART_TITLE.format(scope=digest.scope.name, week=digest.week.iso)
    workbook.properties.creator = "cadrebot"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_table(table: Table) -> bytes:
    """One table as a CSV file: UTF-8 with a BOM (so Excel shows the Chinese), one header row, then the rows, all
    as wide as the header (pandas.read_csv and Excel read it as a plain table)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    width = len(table.header)
    for values in table.rows:
        cells = ["" if v is None else (f"{v:.2f}" if isinstance(v, float) else v) for v in values]
        writer.writerow((cells + [""] * width)[:width])
    return (BOM + buffer.getvalue()).encode("utf-8")


def render_csv_table(digest: Digest, key: str) -> bytes:
    """The CSV of one table, by its key (bot.digest.tables.TABLE_KEYS); KeyError for an unknown key."""
    for table in tables(digest):
        if table.key == key:
            return csv_table(table)
    raise KeyError(key)


def render_csv_zip(digest: Digest) -> bytes:
    """A zip of CSV files, one per table, named <key>.csv (ASCII names: every unzip tool shows them right)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables(digest):
            info = zipfile.ZipInfo(f"{table.key}.csv", date_time=_zip_time(digest))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, csv_table(table))
    return buffer.getvalue()


def _zip_time(digest: Digest) -> tuple[int, int, int, int, int, int]:
    """The digest's generation time (local), so the same digest gives the same bytes."""
    local = local_now(digest.generated_at, digest.week.tz)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


__all__ = ["BOM", "csv_table", "render_csv_table", "render_csv_zip", "render_xlsx"]
