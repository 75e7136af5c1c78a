"""The digest as sheets of tables: one source for the XLSX report, the CSV export and the Markdown tables, so all
three hold the same numbers.

Cells are int, float (averages rounded to 2 places), str or None (empty). A suppressed average is the text
样本不足, never a number: an average is suppressed when its village (or scope) has fewer than MIN_RESPONSES
responses, or when it rests on fewer than MIN_RESPONSES answers (residents may skip an aspect).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.digest.model import MIN_RESPONSES, Digest, Score, VillageRow
from knowledge.model import Verdict
from storage.timeutil import local_now
from texts import digest as T

Cell = int | float | str | None


# Every table's stable name: its CSV file (`--format csv`, `--table NAME`); titles may carry numbers.
# texts.digest.TABLE_LABELS names every table, in this order: one list, which the CLI reads without loading the digest.
TABLE_KEYS = tuple(T.TABLE_LABELS)


@dataclass
class Table:
    key: str  # one of TABLE_KEYS
    title: str
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)


@dataclass
class Sheet:
    name: str
    tables: list[Table] = field(default_factory=list)


def average(score: Score, suppressed: bool = False) -> Cell:
    """The cell of an average: 4.27, 样本不足 (the place has too few responses, or the average too few answers),
    or None when there is nothing."""
    if suppressed or score.too_few:
        return T.INSUFFICIENT
    return score.rounded()


def change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None:
        return None
    return round(now - before, 2)


def day_label(day: date) -> str:
    return T.DATE_SHORT.format(month=day.month, day=day.day)


def week_range(digest: Digest) -> str:
    return f"{day_label(digest.week.monday)}—{day_label(digest.week.sunday)}"


def generated_label(moment: datetime, tz: str) -> str:
    local = local_now(moment, tz)
    return f"{local:%Y-%m-%d %H:%M}"


def village_aspect_codes(digest: Digest) -> list[tuple[str, str]]:
    return [(a.code, a.label) for a in digest.satisfaction.aspects]


def sheets(digest: Digest) -> list[Sheet]:
    """概览, 村社区, 红牌候选, 满意度分项, 意见 — in this order."""
    return [_overview(digest), _villages(digest), _red_cards(digest), _aspects(digest), _comments(digest)]


def _overview(digest: Digest) -> Sheet:
    c, r, s = digest.checks, digest.red_cards, digest.satisfaction
    week, previous = digest.week, digest.week.previous()
    main = Table("overview", T.TABLE_OVERVIEW, T.OVERVIEW_HEADER)
    main.rows += [
        (T.OV_SCOPE, digest.scope.name, None),
        (T.OV_WEEK, week.iso, previous.iso),
        (T.OV_RANGE, week_range(digest), f"{day_label(previous.monday)}—{day_label(previous.sunday)}"),
        (T.OV_GENERATED, generated_label(digest.generated_at, week.tz), None),
        (T.OV_CHECKS, c.total, c.previous_total),
    ]
    for verdict in _verdicts(digest):
        label = T.OV_VERDICT.format(label=T.VERDICT_LABELS.get(verdict, verdict))
        main.rows.append((label, c.by_verdict.get(verdict, 0), c.previous_by_verdict.get(verdict, 0)))
    main.rows += [
        (T.OV_DOWN, c.thumbs_down, None),
        (T.OV_UP, c.thumbs_up, None),
        (T.OV_RC_REPORTS, r.reports, None),
        (T.OV_RC_DEPARTMENTS, len(r.by_department), None),
        (T.OV_RC_NEW, r.new, None),
        (T.OV_RC_CONFIRMED, r.confirmed, None),
        (T.OV_RC_WITHDRAWN, r.withdrawn, None),
        (T.OV_RESPONSES_WEEK, s.responses_this_week, None),
    ]
    period = Table("period", T.OV_PERIOD, T.OV_PERIOD_COLUMNS)
    period.rows += [
        (T.OV_PERIOD, s.period or T.NO_PREVIOUS_PERIOD, s.previous_period or T.NO_PREVIOUS_PERIOD),
        (T.OV_RESPONSES, s.responses, s.previous_responses),
        (T.OV_VILLAGES_WITH, s.villages_with_responses, None),
        (T.OV_VILLAGES_SUPPRESSED, s.villages_suppressed, None),
        (
            T.OV_OVERALL,
            average(s.overall, s.suppressed),
            average(s.previous_overall, s.previous_responses < MIN_RESPONSES),
        ),
    ]
    top = Table("top_items", T.TABLE_TOP_ITEMS, T.TOP_ITEMS_HEADER)
    top.rows += [(i, item.item_id, item.title, item.count) for i, item in enumerate(c.top_items, 1)]
    return Sheet(T.SHEET_OVERVIEW, [main, period, top])


def _verdicts(digest: Digest) -> list[str]:
    seen = set(digest.checks.by_verdict) | set(digest.checks.previous_by_verdict)
    ordered = [v for v in T.VERDICT_ORDER if v in seen or v != Verdict.CHITCHAT]
    return ordered + sorted(seen - set(ordered))


def _villages(digest: Digest) -> Sheet:
    aspects = village_aspect_codes(digest)
    header = (*T.VILLAGES_HEADER_BASE, *(label for _, label in aspects), T.VILLAGES_HEADER_NOTE)
    table = Table("villages", T.TABLE_VILLAGES, header)
    for v in digest.satisfaction.villages:
        cells: list[Cell] = [
            v.code,
            v.name,
            v.town,
            v.checks,
            v.red_card_reports,
            v.responses,
            average(v.overall, v.suppressed) if v.responses else None,
            average(v.previous_overall, v.previous_suppressed) if v.previous_responses else None,
        ]
        for code, _ in aspects:
            cells.append(average(v.aspects.get(code, Score()), v.suppressed) if v.responses else None)
        cells.append(_village_note(v))
        table.rows.append(tuple(cells))
    return Sheet(T.SHEET_VILLAGES, [table])


def _village_note(v: VillageRow) -> str | None:
    if 0 < v.responses < MIN_RESPONSES:
        return T.NOTE_INSUFFICIENT.format(min_n=MIN_RESPONSES)
    if v.aspects_hidden:
        return T.NOTE_ASPECTS_INSUFFICIENT.format(min_n=MIN_RESPONSES)
    return None


def _red_cards(digest: Digest) -> Sheet:
    r = digest.red_cards
    departments = Table("rc_departments", T.TABLE_RC_DEPARTMENTS, T.RC_DEPARTMENTS_HEADER)
    departments.rows += [
        (d.department, d.reports, d.items, d.villages, T.LIST_SEP.join(d.item_ids), T.LIST_SEP.join(d.village_names))
        for d in r.by_department
    ]
    detail = Table("rc_detail", T.TABLE_RC_DETAIL, T.RC_DETAIL_HEADER)
    detail.rows += [
        (
            row.department,
            row.item_id or T.UNLISTED_ITEM,
            row.item_title,
            row.village,
            row.town,
            row.reports,
            T.RC_STATUS.get(row.status, row.status),
        )
        for row in r.rows
    ]
    charted = Table("rc_charted", T.TABLE_RC_CHARTED, T.RC_CHARTED_HEADER)
    charted.rows += [(d.department, d.new, d.confirmed, d.total) for d in r.charted]
    ytd = Table("rc_ytd", T.TABLE_RC_YTD.format(year=r.year), T.RC_YTD_HEADER)
    ytd.rows += [(i, d.department, d.reports, d.cards, d.villages) for i, d in enumerate(r.ytd, 1)]
    return Sheet(T.SHEET_RED_CARDS, [departments, detail, charted, ytd])


def _aspects(digest: Digest) -> Sheet:
    table = Table("aspects", T.TABLE_ASPECTS, T.ASPECTS_HEADER)
    s = digest.satisfaction
    previous_suppressed = s.previous_responses < MIN_RESPONSES
    for a in s.aspects:
        now = average(a.current, a.suppressed)
        before = average(a.previous, previous_suppressed) if s.previous_period else None
        table.rows.append(
            (
                a.code,
                a.label,
                now,
                a.current.n,
                before,
                a.previous.n if s.previous_period else None,
                a.change,
            )
        )
    return Sheet(T.SHEET_ASPECTS, [table])


def _comments(digest: Digest) -> Sheet:
    comments = Table("comments", T.TABLE_COMMENTS, T.COMMENTS_HEADER)
    comments.rows += [(c.day.isoformat(), c.village, c.text) for c in digest.satisfaction.comments]
    gaps = Table("gaps", T.TABLE_GAPS.format(n=len(digest.checks.gaps)), T.GAPS_HEADER)
    gaps.rows += [
        (g.day.isoformat(), g.village, T.GAP_KIND_DOWN if g.feedback == -1 else T.GAP_KIND_UNCLEAR, g.text)
        for g in digest.checks.gaps
    ]
    return Sheet(T.SHEET_COMMENTS, [comments, gaps])


def tables(digest: Digest) -> list[Table]:
    """Every table of every sheet, in TABLE_KEYS order."""
    return [table for sheet in sheets(digest) for table in sheet.tables]


__all__ = ["TABLE_KEYS", "Cell", "Sheet", "Table", "average", "day_label", "generated_label", "sheets", "tables", "week_range"]
