"""The dossier as titled tables, one section per sheet/chapter: 总览, then each village, then each department.

Both writers (dossier_xlsx, dossier_pdf) render these same tables, so the XLSX and the PDF cannot disagree. A cell
holds the raw value (money in fen, scores as floats, dates as dates); None is shown as its column's `missing`
label (样本不足, 未评分, 不定额 ...), and a str in a numeric column is shown as it is (the blank cells of a 合计 row).

    for section in sections(dossier):
        section.heading, [table.title for table in section.tables]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flows.evaluation.dossier_model import (
    DepartmentSection,
    Dossier,
    FeeLine,
    Rating,
    RedCardLine,
    VillageSection,
    yuan,
)
from texts import evaluation_dossier as T


class CellKind(StrEnum):
    """How a column's values are written: the XLSX number format and the PDF's text."""

    TEXT = "text"
    COUNT = "count"  # an int
    SCORE = "score"  # points (0–100 or a bonus), two decimals
    MEAN = "mean"  # a satisfaction mean (1–5), two decimals
    MONEY = "money"  # fen, shown in yuan with two decimals
    DATE = "date"


class SectionKind(StrEnum):
    OVERVIEW = "overview"
    VILLAGE = "village"
    DEPARTMENT = "department"


Value = str | int | float | date | None


@dataclass(frozen=True)
class Column:
    header: str
    kind: CellKind = CellKind.TEXT
    missing: str = ""  # what a None value shows
    width: float = 1.0  # relative width in the PDF (the XLSX sizes columns to their content)

    @property
    def numeric(self) -> bool:
        return self.kind in (CellKind.COUNT, CellKind.SCORE, CellKind.MEAN, CellKind.MONEY)


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]  # as wide as `columns`; no rows: the writers show T.NONE_ROW


@dataclass(frozen=True)
class Section:
    kind: SectionKind
    name: str  # the sheet's name before it is made valid for Excel
    heading: str
    tables: tuple[Table, ...]


def display(value: Value, column: Column) -> str:
    """A cell as text (the PDF's cells; the XLSX writes numbers as numbers instead)."""
    if value is None:
        return column.missing
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if column.kind is CellKind.MONEY and isinstance(value, int):
        return yuan(value)
    if column.kind in (CellKind.SCORE, CellKind.MEAN):
        return f"{value:.2f}"
    return str(value)


def overall_satisfaction(village: VillageSection) -> float | None:
    """The village's mean over every shown aspect, weighted by its answers (as the digest's overall: all answers'
    sum over their count); None when the village is suppressed or no aspect has a mean."""
    if village.satisfaction_suppressed:
        return None
    shown = [(line.n, line.mean) for line in village.satisfaction if line.mean is not None and line.n > 0]
    answers = sum(n for n, _ in shown)
    if not answers:
        return None
    return sum(n * mean for n, mean in shown) / answers


# ---------------------------------------------------------------------------------------------- columns

_VILLAGE = Column(T.COL_VILLAGE, width=1.2)
_DEPARTMENT = Column(T.COL_DEPARTMENT, width=1.2)
_ITEM_ID = Column(T.COL_ITEM_ID, width=0.8)
_ITEM_TITLE = Column(T.COL_ITEM, width=2.0)
_ITEM = Column(T.COL_ITEM, missing=T.UNLISTED_ITEM, width=2.0)
_SCORE = Column(T.COL_SCORE, CellKind.SCORE, missing=T.NOT_SCORED, width=0.8)
_COUNT = Column(T.COL_COUNT, CellKind.COUNT, width=0.8)
_FIRST = Column(T.COL_FIRST_SEEN, CellKind.DATE, width=1.1)
_LAST = Column(T.COL_LAST_SEEN, CellKind.DATE, width=1.1)
_EVIDENCE = Column(T.COL_EVIDENCE, width=3.0)
_AGREED = Column(T.COL_AGREED, CellKind.MONEY, missing=T.NO_FIXED_AMOUNT, width=1.3)
_DUE = Column(T.COL_DUE, CellKind.MONEY, missing=T.NO_FIXED_AMOUNT, width=1.1)
_PAID = Column(T.COL_PAID, CellKind.MONEY, width=1.1)
_OUTSTANDING = Column(T.COL_OUTSTANDING, CellKind.MONEY, missing=T.NO_FIXED_AMOUNT, width=1.1)


def _item(item_id: str, title: str) -> str | None:
    """'B5 title'; None (shown as 清单外) for a task that is on no list."""
    return T.ITEM_WITH_TITLE.format(id=item_id, title=title).strip() if item_id else None


def _evidence(card: RedCardLine) -> str:
    return T.EVIDENCE_SEP.join(card.evidence)


# ---------------------------------------------------------------------------------------------- overview


def _info_table(d: Dossier) -> Table:
    period = T.PERIOD.format(start=d.starts_on.isoformat(), end=d.ends_on.isoformat())
    generated = d.generated_at.strftime("%Y-%m-%d %H:%M")
    rows: tuple[tuple[Value, ...], ...] = (
        (T.INFO_TOWN, d.town_name),
        (T.INFO_ROUND, d.round_label),
        (T.INFO_PERIOD, period),
        (T.INFO_DEADLINE, d.deadline),
        (T.INFO_STATUS, T.STATUS_CLOSED if d.closed else T.STATUS_OPEN),
        (T.INFO_AGREEMENT, d.agreement_name),
        (T.INFO_GENERATED, generated),
    )
    key, value = T.INFO_HEADER
    return Table(T.TABLE_INFO, (Column(key), Column(value, CellKind.DATE, width=3.0)), rows)


def _villages_table(d: Dossier) -> Table:
    columns = (
        _VILLAGE,
        Column(T.COL_WEIGHTED, CellKind.SCORE, missing=T.NOT_SCORED),
        Column(T.COL_BONUS, CellKind.SCORE),
        Column(T.COL_TOTAL, CellKind.SCORE, missing=T.NOT_SCORED),
        Column(T.COL_RAISED, CellKind.COUNT, width=0.7),
        Column(T.COL_RESPONSES, CellKind.COUNT, width=0.8),
        Column(T.COL_SATISFACTION, CellKind.MEAN, missing=T.INSUFFICIENT),
        _DUE,
        _PAID,
        _OUTSTANDING,
    )
    rows = tuple(
        (
            v.name,
            v.weighted_score,
            v.bonus_total,
            v.total_score,
            len(v.raised_cards),
            v.satisfaction_n,
            overall_satisfaction(v),
            v.due_fen,
            v.paid_fen,
            v.outstanding_fen,
        )
        for v in d.villages
    )
    return Table(T.TABLE_VILLAGES, columns, rows)


def _overview(d: Dossier) -> Section:
    tables = [_info_table(d), _villages_table(d)]
    if d.notes:
        tables.append(Table(T.TABLE_NOTES, (Column(T.NOTES_HEADER),), tuple((note,) for note in d.notes)))
    return Section(SectionKind.OVERVIEW, T.SHEET_OVERVIEW, T.TITLE.format(town=d.town_name, round=d.round_label),
                   tuple(tables))


# ---------------------------------------------------------------------------------------------- village


def _summary_table(v: VillageSection) -> Table:
    columns = (Column(T.COL_ITEM_SUMMARY), Column(T.COL_VALUE, CellKind.SCORE, missing=T.NOT_SCORED))
    rows: tuple[tuple[Value, ...], ...] = (
        (T.COL_WEIGHTED, v.weighted_score),
        (T.COL_BONUS, v.bonus_total),
        (T.COL_TOTAL, v.total_score),
    )
    return Table(T.TABLE_SUMMARY, columns, rows)


def _item_scores_table(v: VillageSection) -> Table:
    columns = (_ITEM_ID, _ITEM_TITLE, _DEPARTMENT, Column(T.COL_WEIGHT, CellKind.COUNT, width=0.6), _SCORE)
    rows = tuple((s.item_id, s.item_title, s.department, s.weight, s.score) for s in v.item_scores)
    return Table(T.TABLE_ITEM_SCORES, columns, rows)


def _bonuses_table(v: VillageSection) -> Table:
    columns = (_DEPARTMENT, Column(T.COL_BONUS, CellKind.SCORE, width=0.7), Column(T.COL_REASON, width=3.0))
    rows = tuple((b.department, b.points, b.reason) for b in v.bonuses)
    return Table(T.TABLE_BONUSES, columns, rows)


def _ordered(labels: Iterable[str]) -> tuple[str, ...]:
    """The labels once each, in the order they first appear (the scheme's order)."""
    return tuple(dict.fromkeys(labels))


def _ratings_table(title: str, ratings: tuple[Rating, ...], by_village: bool) -> Table:
    """One row per rating (the department graded, or the village that graded), one column per aspect."""
    aspects = _ordered(aspect for r in ratings for aspect, _ in r.grades)
    columns = (_VILLAGE if by_village else _DEPARTMENT, *(Column(aspect, missing=T.NOT_GRADED) for aspect in aspects))
    rows: list[tuple[Value, ...]] = []
    for rating in ratings:
        grades = dict(rating.grades)
        rows.append((rating.village_name if by_village else rating.department, *(grades.get(a) for a in aspects)))
    return Table(title, columns, tuple(rows))


def _red_cards_table(v: VillageSection) -> Table:
    columns = (_DEPARTMENT, _ITEM, _COUNT, _FIRST, _LAST, Column(T.COL_DECISION, width=0.8), _EVIDENCE)
    rows = tuple(
        (
            c.department,
            _item(c.item_id, c.item_title),
            c.count,
            c.first_seen,
            c.last_seen,
            T.DECISION_LABELS[c.decision.value],
            _evidence(c),
        )
        for c in v.red_cards
    )
    return Table(T.TABLE_RED_CARDS, columns, rows)


def _satisfaction_table(v: VillageSection) -> Table:
    columns = (
        Column(T.COL_ASPECT, width=2.0),
        Column(T.COL_N, CellKind.COUNT),
        Column(T.COL_MEAN, CellKind.MEAN, missing=T.INSUFFICIENT),
    )
    overall: tuple[Value, ...] = (T.SATISFACTION_OVERALL, v.satisfaction_n, overall_satisfaction(v))
    # A suppressed village shows no mean at all, whatever an aspect line says.
    lines = tuple((s.aspect, s.n, None if v.satisfaction_suppressed else s.mean) for s in v.satisfaction)
    return Table(T.TABLE_SATISFACTION, columns, (overall, *lines))


def _fees_table(title: str, fees: tuple[FeeLine, ...], by_village: bool, totals: tuple[int, int, int]) -> Table:
    """Per fee line: agreed, score, due, paid, outstanding; then a 合计 row with the section's own sums (a village's
    paid counts every payment of the round, not only those booked against an item)."""
    who = _VILLAGE if by_village else _DEPARTMENT
    columns = (who, _ITEM_ID, _ITEM_TITLE, _AGREED, _SCORE, _DUE, _PAID, _OUTSTANDING)
    rows: list[tuple[Value, ...]] = [
        (
            f.village_name if by_village else f.department,
            f.item_id,
            f.item_title,
            f.agreed_fen,
            f.score,
            f.due_fen,
            f.paid_fen,
            f.outstanding_fen,
        )
        for f in fees
    ]
    due, paid, outstanding = totals
    rows.append((T.TOTAL_ROW, "", "", "", "", due, paid, outstanding))
    return Table(title, columns, tuple(rows))


def _village(v: VillageSection) -> Section:
    tables = (
        _summary_table(v),
        _item_scores_table(v),
        _bonuses_table(v),
        _ratings_table(T.TABLE_RATINGS_GIVEN, v.ratings, by_village=False),
        _red_cards_table(v),
        _satisfaction_table(v),
        _fees_table(T.TABLE_FEES, v.fees, by_village=False, totals=(v.due_fen, v.paid_fen, v.outstanding_fen)),
    )
    return Section(SectionKind.VILLAGE, v.name, T.SECTION_VILLAGE.format(name=v.name), tables)


# ---------------------------------------------------------------------------------------------- department


def _received_cards_table(dep: DepartmentSection) -> Table:
    columns = (_VILLAGE, _ITEM, _COUNT, _FIRST, _LAST, _EVIDENCE)
    rows = tuple(
        (c.village_name, _item(c.item_id, c.item_title), c.count, c.first_seen, c.last_seen, _evidence(c))
        for c in dep.red_cards
    )
    return Table(T.TABLE_RED_CARDS_RECEIVED, columns, rows)


def _grade_counts_table(dep: DepartmentSection) -> Table:
    grades = _ordered(grade for _, counts in dep.grade_counts for grade, _ in counts)
    columns = (Column(T.COL_ASPECT, width=1.5), *(Column(g, CellKind.COUNT) for g in grades))
    rows: list[tuple[Value, ...]] = []
    for aspect, counts in dep.grade_counts:
        by_grade = dict(counts)
        rows.append((aspect, *(by_grade.get(g, 0) for g in grades)))
    return Table(T.TABLE_GRADE_COUNTS, columns, tuple(rows))


def _department(dep: DepartmentSection) -> Section:
    tables = (
        _received_cards_table(dep),
        _ratings_table(T.TABLE_RATINGS_RECEIVED, dep.ratings, by_village=True),
        _grade_counts_table(dep),
        _fees_table(T.TABLE_FEES_OWED, dep.fees, by_village=True, totals=(dep.due_fen, dep.paid_fen, dep.outstanding_fen)),
    )
    return Section(SectionKind.DEPARTMENT, dep.name, T.SECTION_DEPARTMENT.format(name=dep.name), tables)


def sections(d: Dossier) -> tuple[Section, ...]:
    """总览, then one section per village, then one per department, in the dossier's order."""
    return (_overview(d), *(_village(v) for v in d.villages), *(_department(dep) for dep in d.departments))


__all__ = ["CellKind", "Column", "Section", "SectionKind", "Table", "Value", "display", "overall_satisfaction",
           "sections"]
