"""A letter (knowledge.letters.Letter) as a Word document: title centred, body indented, the committee with its
seal and the date right-aligned at the bottom, ready to print and stamp.

Every run names its East-Asian font (w:eastAsia): python-docx only sets the Latin one, and Word would then show
the Chinese in whatever its default East-Asian font is (or boxes on a machine without it).
"""

from __future__ import annotations

from io import BytesIO

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from knowledge.letters import Letter
from texts import letters as T

TITLE_SIZE = Pt(18)
BODY_SIZE = Pt(14)
INDENT = Pt(28)  # two characters of the body size: the first line of a Chinese paragraph
LINE_GAP = Pt(6)


def letter_docx(letter: Letter) -> bytes:
    """The .docx bytes of the letter."""
    document = Document()
    _name_fonts(document.styles["Normal"].element, T.FONT_EAST_ASIA)
    title = _paragraph(document.add_paragraph(), WD_ALIGN_PARAGRAPH.CENTER)
    _run(title, letter.title, T.TITLE_FONT_EAST_ASIA, TITLE_SIZE, bold=True)
    _run(_paragraph(document.add_paragraph()), letter.salutation)
    for text in (*letter.paragraphs, letter.closing):
        paragraph = _paragraph(document.add_paragraph())
        paragraph.paragraph_format.first_line_indent = INDENT
        _run(paragraph, text)
    document.add_paragraph()  # room above the seal
    for line in letter.signature:
        _run(_paragraph(document.add_paragraph(), WD_ALIGN_PARAGRAPH.RIGHT), line)
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def _paragraph(paragraph: Paragraph, alignment: WD_ALIGN_PARAGRAPH | None = None) -> Paragraph:
    if alignment is not None:
        paragraph.alignment = alignment
    paragraph.paragraph_format.space_after = LINE_GAP
    return paragraph


def _run(paragraph: Paragraph, text: str, east_asia: str = T.FONT_EAST_ASIA, size: Pt = BODY_SIZE,
         bold: bool = False) -> Run:
    run = paragraph.add_run(text)
    run.font.size = size
    run.bold = bold
    run.font.name = T.FONT_LATIN
    _name_fonts(run._element, east_asia)
    return run


def _name_fonts(element, east_asia: str) -> None:
    """Set w:rFonts/@w:eastAsia on a run or a style (python-docx has no API for it)."""
    fonts = element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asia)


__all__ = ["letter_docx"]
