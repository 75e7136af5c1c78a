"""The digest as phone-friendly text for Telegram, and as Markdown for the command line.

    messages = render_messages(digest)       # list of texts, each ≤ 4096 characters (Telegram's limit)
    text = render_text(digest)               # the same, one string
    md = render_markdown(digest)             # full tables, every village

A town's text lists its villages; the city's text keeps to totals and the lowest five villages and points to
the Excel report. An empty week is one line (`empty_line`).
"""

from __future__ import annotations

from bot.digest.model import MIN_RESPONSES, AspectScore, Digest
from bot.digest.tables import Cell, day_label, sheets
from bot.digest.weeks import BadWeek, WeekProblem, weeks_in_year
from storage.timeutil import local_now
from texts import digest as T

TELEGRAM_LIMIT = 4096
TEXT_DEPARTMENTS = 8
TEXT_YTD = 5
TEXT_VILLAGES = 40  # a town with more villages than this gets only the lowest five, like the city


def fmt_avg(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def fmt_count_change(now: int, before: int) -> str:
    if now > before:
        return T.CHANGE_UP.format(n=now - before)
    if now < before:
        return T.CHANGE_DOWN.format(n=before - now)
    return T.CHANGE_SAME


def fmt_score_change(delta: float | None) -> str:
    if delta is None:
        return T.CHANGE_NONE
    if delta > 0:
        return T.CHANGE_UP.format(n=f"{delta:.2f}")
    if delta < 0:
        return T.CHANGE_DOWN.format(n=f"{-delta:.2f}")
    return T.CHANGE_SAME


def scope_label(digest: Digest) -> str:
    return digest.scope.name


def empty_line(digest: Digest) -> str:
    """The one line sent for a week in which nothing happened."""
    return T.EMPTY_WEEK.format(
        scope=scope_label(digest),
        week=digest.week.iso,
        first=day_label(digest.week.monday),
        last=day_label(digest.week.sunday),
    )


def bad_week_text(error: BadWeek, unreadable: str) -> str:
    """What to tell someone whose week could not be used: it does not exist (2026-W54, 2026-02-30), or
    `unreadable` (the bot's or the command line's list of the forms it reads)."""
    text = error.text[:40]
    if error.problem is WeekProblem.NO_SUCH_WEEK:
        return T.NO_SUCH_WEEK.format(year=error.year, number=error.number, weeks=weeks_in_year(error.year))
    if error.problem is WeekProblem.NO_SUCH_DATE:
        return T.NO_SUCH_DATE.format(year=error.year, month=error.month, day=error.day)
    return unreadable.format(text=text)


def _so_far(digest: Digest) -> str:
    """'（本周截至 11月19日 10:05）' for a week that has not ended, else ''."""
    if not digest.partial:
        return ""
    now = local_now(digest.generated_at, digest.week.tz)
    return T.WEEK_SO_FAR.format(
        now=T.DATE_TIME_SHORT.format(month=now.month, day=now.day, hour=now.hour, minute=now.minute)
    )


def _header(digest: Digest) -> list[str]:
    week = digest.week
    return [
        T.TITLE.format(scope=scope_label(digest)),
        T.WEEK_LINE.format(week=week.iso, first=day_label(week.monday), last=day_label(week.sunday)) + _so_far(digest),
    ]


def _item_label(item_id: str, title: str) -> str:
    return T.ITEM_WITH_TITLE.format(id=item_id, title=title).strip() if title else item_id


def _checks_block(digest: Digest) -> list[str]:
    c = digest.checks
    lines = [T.SECTION_CHECKS]
    lines.append(T.CHECKS_TOTAL.format(total=c.total, previous=c.previous_total, change=fmt_count_change(c.total, c.previous_total)))
    if c.total == 0 and c.previous_total == 0:
        lines.append(T.NO_CHECKS)
        return lines
    for verdict in T.VERDICT_ORDER:
        now, before = c.by_verdict.get(verdict, 0), c.previous_by_verdict.get(verdict, 0)
        if now or before:
            lines.append("· " + T.VERDICT_ITEM.format(label=T.VERDICT_LABELS[verdict], count=now, previous=before))
    for verdict in sorted((set(c.by_verdict) | set(c.previous_by_verdict)) - set(T.VERDICT_ORDER)):
        now, before = c.by_verdict.get(verdict, 0), c.previous_by_verdict.get(verdict, 0)
        lines.append("· " + T.VERDICT_ITEM.format(label=verdict, count=now, previous=before))
    if c.top_items:
        lines.append(T.TOP_ITEMS)
        lines += [
            T.TOP_ITEM.format(rank=i, item=_item_label(item.item_id, item.title), count=item.count)
            for i, item in enumerate(c.top_items, 1)
        ]
    lines.append(T.GAPS.format(unclear=c.unclear, down=c.thumbs_down, up=c.thumbs_up))
    for gap in c.gaps:
        kind = T.GAP_KIND_DOWN if gap.feedback == -1 else T.GAP_KIND_UNCLEAR
        label = f"{gap.village}，{kind}" if gap.village else kind
        lines.append(T.GAP_SAMPLE.format(text=gap.text, label=label))
    return lines


def _names(names: tuple[str, ...], limit: int = 3) -> str:
    shown = T.LIST_SEP.join(names[:limit])
    return shown + (T.MORE if len(names) > limit else "")


def _red_cards_block(digest: Digest) -> list[str]:
    r = digest.red_cards
    lines = [T.SECTION_RED_CARDS]
    if r.reports == 0:
        lines.append(T.NO_RED_CARDS)
    else:
        lines.append(T.RED_CARDS_TOTAL.format(reports=r.reports, departments=len(r.by_department)))
    lines.append(T.RED_CARDS_FLOW.format(new=r.new, confirmed=r.confirmed, withdrawn=r.withdrawn))
    for i, d in enumerate(r.by_department[:TEXT_DEPARTMENTS], 1):
        lines.append(T.DEPARTMENT_LINE.format(rank=i, department=d.department, reports=d.reports, items=d.items, villages=d.villages))
        lines.append(T.DEPARTMENT_DETAIL.format(items=_names(d.item_ids), villages=_names(d.village_names)))
    if len(r.by_department) > TEXT_DEPARTMENTS:
        lines.append(T.MORE_DEPARTMENTS.format(n=len(r.by_department) - TEXT_DEPARTMENTS))
    if r.ytd:
        lines.append(T.YTD_HEADING.format(year=r.year))
        lines += [
            T.YTD_LINE.format(rank=i, department=d.department, reports=d.reports, cards=d.cards)
            for i, d in enumerate(r.ytd[:TEXT_YTD], 1)
        ]
    return lines


def _aspect_line(a: AspectScore) -> str:
    if a.hidden:
        return T.ASPECT_LINE_INSUFFICIENT.format(label=a.label, n=a.current.n)
    return T.ASPECT_LINE.format(label=a.label, average=fmt_avg(a.current.rounded()), n=a.current.n, change=fmt_score_change(a.change))


def _satisfaction_block(digest: Digest) -> list[str]:
    s = digest.satisfaction
    lines = [T.SECTION_SATISFACTION]
    if s.period is None:
        lines.append(T.NO_PERIOD)
        return lines
    lines.append(
        T.PERIOD_LINE.format(
            period=s.period, responses=s.responses, previous=s.previous_responses, week=s.responses_this_week
        )
    )
    if s.suppressed:
        lines.append(T.SCOPE_INSUFFICIENT.format(min_n=MIN_RESPONSES))
    else:
        lines += [_aspect_line(a) for a in s.aspects if a.current.n]
        if any(a.current.too_few for a in s.aspects):
            lines.append(T.ASPECTS_INSUFFICIENT_NOTE.format(min_n=MIN_RESPONSES))
    lowest = s.lowest
    if lowest:
        lines.append(T.LOWEST_HEADING)
        lines += [
            T.LOWEST_LINE.format(rank=i, village=v.name, average=fmt_avg(v.overall.rounded()), responses=v.responses)
            for i, v in enumerate(lowest, 1)
        ]
    with_responses = [v for v in s.villages if v.responses]
    if not digest.scope.is_city and 0 < len(with_responses) <= TEXT_VILLAGES:
        lines.append(T.VILLAGES_HEADING)
        for v in with_responses:
            if v.overall_hidden:
                lines.append(T.VILLAGE_LINE_SUPPRESSED.format(village=v.name, responses=v.responses))
            else:
                lines.append(T.VILLAGE_LINE.format(village=v.name, average=fmt_avg(v.overall.rounded()), responses=v.responses))
    elif with_responses:
        if s.villages_suppressed:
            lines.append(T.VILLAGES_SUPPRESSED.format(n=s.villages_suppressed))
        lines.append(T.SEE_EXCEL_VILLAGES)
    if s.villages_suppressed:
        lines.append(T.INSUFFICIENT_NOTE.format(min_n=MIN_RESPONSES))
    if s.comments:
        lines.append(T.COMMENTS_HEADING)
        lines += [
            T.COMMENT_LINE.format(text=c.text, village=c.village, date=day_label(c.day)) for c in s.comments
        ]
    return lines


def blocks(digest: Digest, *, attachments: bool = False) -> list[str]:
    """The text's paragraphs: header, checks, red cards, satisfaction (and the attachments note)."""
    parts = [
        "\n".join(_header(digest)),
        "\n".join(_checks_block(digest)),
        "\n".join(_red_cards_block(digest)),
        "\n".join(_satisfaction_block(digest)),
    ]
    if attachments:
        parts.append(T.SEE_ATTACHMENTS if digest.has_chart else T.SEE_EXCEL_ONLY)
    return parts


def split_messages(parts: list[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pack paragraphs into as few messages as possible, each ≤ `limit` characters; a paragraph that is too long
    is split between lines (a line that is too long, between characters). Paragraphs are joined by a blank line."""
    pieces: list[tuple[str, str]] = []  # (separator before it, text)
    for part in parts:
        if len(part) <= limit:
            pieces.append(("\n\n", part))
            continue
        sep = "\n\n"
        for line in part.split("\n"):
            while len(line) > limit:
                pieces.append((sep, line[:limit]))
                line, sep = line[limit:], ""
            pieces.append((sep, line))
            sep = "\n"
    messages: list[str] = []
    current = ""
    for sep, piece in pieces:
        candidate = f"{current}{sep}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def render_messages(digest: Digest, *, attachments: bool = False, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """The Telegram messages of the digest (one line for an empty week), each ≤ `limit` characters."""
    if digest.is_empty:
        return [empty_line(digest)]
    return split_messages(blocks(digest, attachments=attachments), limit)


def render_text(digest: Digest) -> str:
    """The digest as one plain text (the CLI's --format text)."""
    if digest.is_empty:
        return empty_line(digest) + "\n"
    return "\n\n".join(blocks(digest)) + "\n"


# ---------------------------------------------------------------------------------------------- markdown


def _md_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(header: tuple[str, ...], rows: list[tuple[Cell, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(digest: Digest) -> str:
    """Headings, the text's summary lines and every table of the XLSX report."""
    out = [
        T.MD_TITLE.format(scope=scope_label(digest)),
        "",
        T.MD_WEEK.format(week=digest.week.iso, first=day_label(digest.week.monday), last=day_label(digest.week.sunday))
        + _so_far(digest),
        "",
    ]
    if digest.is_empty:
        out += [empty_line(digest), ""]
        return "\n".join(out)
    for sheet in sheets(digest):
        out += [f"## {sheet.name}", ""]
        for table in sheet.tables:
            out += [f"### {table.title}", ""]
            if table.rows:
                out += _md_table(table.header, table.rows)
            else:
                out.append("—")
            out.append("")
    return "\n".join(out)


__all__ = [
    "TELEGRAM_LIMIT",
    "bad_week_text",
    "blocks",
    "empty_line",
    "fmt_avg",
    "render_markdown",
    "render_messages",
    "render_text",
    "split_messages",
]
