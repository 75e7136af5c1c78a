"""The evaluation dossier as an A4 PDF: a title line and the overview, then one section per village and one per
department, each starting on a new page, with the same tables as the XLSX (flows.evaluation.dossier_tables).

The CJK font is embedded (subset) from the file the caller passes, found by bot.digest.fonts.find_cjk_font(), so
the Chinese is real text: it prints, and it can be searched and copied (pdftotext reads it back).

    font = find_cjk_font(settings.cjk_font)
    data = dossier_pdf(dossier, Path(font.path), font.index)
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from flows.evaluation.dossier_model import Dossier
from flows.evaluation.dossier_tables import Section, Table, display, sections
from texts import evaluation_dossier as T

FAMILY = "cjk"
_HEADING_SIZE = 15
_SUBHEADING_SIZE = 13
_TITLE_SIZE = 11
_BODY_SIZE = 8.5
_LINE_HEIGHT = 4.6  # mm per line of _BODY_SIZE text, with a little air
_HEADER_STYLE = FontFace(emphasis="", fill_color=(221, 235, 247))  # the font has no bold face


class _DossierPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.cell(0, 6, T.PAGE_FOOTER.format(page=self.page_no()), align=Align.C)


def _new_pdf(d: Dossier, font_path: Path, font_index: int) -> FPDF:
    pdf = _DossierPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    is_collection = font_path.suffix.lower() in (".ttc", ".otc")
    pdf.add_font(FAMILY, fname=font_path, collection_font_number=font_index if is_collection else 0)
    title = T.TITLE.format(town=d.town_name, round=d.round_label)
    pdf.set_title(title)
    pdf.set_subject(T.SUBJECT)
    pdf.set_creator("cadrebot")
    pdf.set_creation_date(d.generated_at)  # the same dossier gives the same file
    return pdf


def _line(pdf: FPDF, text: str, size: float, after: float = 1.5) -> None:
    pdf.set_font(FAMILY, size=size)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(after)


def _write_table(pdf: FPDF, table: Table) -> None:
    # Keep a table's title with its first rows rather than alone at the foot of a page.
    if pdf.will_page_break(_TITLE_SIZE + 3 * _LINE_HEIGHT):
        pdf.add_page()
    _line(pdf, table.title, _TITLE_SIZE, after=1)
    pdf.set_font(FAMILY, size=_BODY_SIZE)
    aligns = tuple(Align.R if c.numeric else Align.L for c in table.columns)
    with pdf.table(
        col_widths=tuple(c.width for c in table.columns),
        text_align=aligns,
        headings_style=_HEADER_STYLE,
        line_height=_LINE_HEIGHT,
        borders_layout=TableBordersLayout.ALL,
        repeat_headings=1,
    ) as rendered:
        header = rendered.row()
        for column in table.columns:
            header.cell(column.header, align=Align.C)
        if not table.rows:
            rendered.row().cell(T.NONE_ROW, colspan=len(table.columns))
        for values in table.rows:
            row = rendered.row()
            for value, column in zip(values, table.columns, strict=True):
                row.cell(display(value, column))
    pdf.ln(4)


def _write_section(pdf: FPDF, section: Section, size: float) -> None:
    pdf.add_page()
    _line(pdf, section.heading, size, after=3)
    for table in section.tables:
        _write_table(pdf, table)


def dossier_pdf(d: Dossier, font_path: Path, font_index: int = 0) -> bytes:
    """The dossier as the bytes of an A4 PDF with `font_path` (a .ttf/.otf, or face `font_index` of a .ttc/.otc)
    embedded for the Chinese."""
    pdf = _new_pdf(d, Path(font_path), font_index)
    overview, *rest = sections(d)
    _write_section(pdf, overview, _HEADING_SIZE)
    for section in rest:
        _write_section(pdf, section, _SUBHEADING_SIZE)
    return bytes(pdf.output())


__all__ = ["dossier_pdf"]
