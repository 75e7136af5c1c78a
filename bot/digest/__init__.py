"""The weekly digest for the civil affairs bureau (民政局周报), without Telegram.

    from bot.digest import Week, build_digest, resolve_scope, render_messages, render_xlsx, render_png

    with db.session() as session:
        digest = build_digest(session, resolve_scope(session, "DEMO"), Week.parse("2026-W47"))
    messages = render_messages(digest)     # Telegram texts, each ≤ 4096 characters
    xlsx = render_xlsx(digest)             # 概览, 村社区, 红牌候选, 满意度分项, 意见
    csv_zip = render_csv_zip(digest)       # one CSV per table (UTF-8 with BOM), zipped
    csv_one = render_csv_table(digest, "villages")
    md = render_markdown(digest)
    png = render_png(digest)               # needs a CJK font (bot.digest.fonts)

Modules: weeks (ISO weeks in local time, and weeks as people write them), queries (SQL aggregation), model (the
digest as data), anonymize + names (comments made safe to show: the one place personal information is removed),
tables / text / exports / chart (renderers), rendered (what Telegram receives), delivery (subscriptions,
idempotent weekly sending, catch-up). The Telegram side is handlers/digest.py, the command line bot/cli_digest.py.
"""

from __future__ import annotations

from bot.digest.anonymize import anonymize
from bot.digest.exports import render_csv_table, render_csv_zip, render_xlsx
from bot.digest.model import MIN_RESPONSES, Digest, Scope
from bot.digest.queries import build_digest, resolve_scope
from bot.digest.text import empty_line, render_markdown, render_messages, render_text
from bot.digest.weeks import Week, last_complete_week


def render_png(digest: Digest, font_file: str | None = None) -> bytes:
    """The PNG chart (imports matplotlib on first use); `font_file`: the deployer's CJK font, None finds one."""
    from bot.digest.chart import render_png as _render

    return _render(digest, font_file)


__all__ = [
    "Digest",
    "MIN_RESPONSES",
    "Scope",
    "Week",
    "anonymize",
    "build_digest",
    "empty_line",
    "last_complete_week",
    "render_csv_table",
    "render_csv_zip",
    "render_markdown",
    "render_messages",
    "render_png",
    "render_text",
    "render_xlsx",
    "resolve_scope",
]
