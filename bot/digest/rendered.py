"""What goes out to Telegram for one digest: its text messages, the XLSX report and the PNG chart, with file names
and captions. Blocking (SQL is done, but rendering takes a while): run it in a worker thread.

    rendered = render_for_telegram(digest, font_file=settings.cjk_font)
    rendered.messages, rendered.xlsx, rendered.png      # png is None when there is nothing to draw

An empty week is one line without attachments; a digest with nothing to draw (no average that may be shown, no
new or confirmed red card) gets no chart rather than a blank one; a missing CJK font drops the chart (logged),
never the digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.digest.exports import render_xlsx
from bot.digest.model import Digest, Scope
from bot.digest.text import render_messages
from texts import digest as T

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    """What is sent for one digest."""

    messages: list[str]
    xlsx: bytes | None = None
    png: bytes | None = None
    xlsx_name: str = ""
    png_name: str = ""
    xlsx_caption: str = ""
    png_caption: str = ""


def _scope_file_label(scope: Scope) -> str:
    return scope.name if scope.is_city else f"{scope.name}{scope.town_code}"


def render_chart(digest: Digest, font_file: str | None = None) -> bytes | None:
    """The PNG chart, or None when it would be blank or cannot be drawn (logged)."""
    if not digest.has_chart:
        return None
    try:
        from bot.digest.chart import render_png

        return render_png(digest, font_file)
    except Exception:  # the chart is an extra: the text and the Excel file still go out
        log.exception("digest chart for %s %s could not be drawn", digest.scope.key, digest.week.iso)
        return None


def render_for_telegram(digest: Digest, font_file: str | None = None) -> Rendered:
    """Text messages, XLSX and PNG of a digest. `font_file`: Settings.cjk_font (None finds an installed font)."""
    if digest.is_empty:
        return Rendered(render_messages(digest))
    label, week = _scope_file_label(digest.scope), digest.week.iso
    return Rendered(
        messages=render_messages(digest, attachments=True),
        xlsx=render_xlsx(digest),
        png=render_chart(digest, font_file),
        xlsx_name=T.XLSX_FILENAME.format(scope=label, week=week),
        png_name=T.PNG_FILENAME.format(scope=label, week=week),
        xlsx_caption=T.XLSX_CAPTION.format(scope=digest.scope.name, week=week),
        png_caption=T.PNG_CAPTION.format(scope=digest.scope.name, week=week),
    )


__all__ = ["Rendered", "render_chart", "render_for_telegram"]
