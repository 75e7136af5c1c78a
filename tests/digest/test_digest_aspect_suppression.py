"""An average over fewer than 5 answers is never shown, not even in a village (or scope) with 5 or more responses:
residents may skip an aspect, so a village of 5 responses can have 3 answers for one aspect, and its average would
single those residents out. Checked against the fixture world with independent SQL, in every place a bureau member
reads figures: the text, Markdown, the XLSX 村社区 and 满意度分项 sheets, the CSV and the chart."""

from __future__ import annotations

import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from bot.digest import (
    MIN_RESPONSES,
    Week,
    build_digest,
    render_csv_table,
    render_markdown,
    render_text,
    render_xlsx,
    resolve_scope,
)
from bot.digest.chart import CURRENT_COLOR, PREVIOUS_COLOR, build_figure
from bot.digest.model import Score, VillageRow
from bot.digest.tables import average
from tests.digest.test_digest_exports import read_csv, read_xlsx
from tests.digest.world import NOW, WEEK, sql
from texts import digest as T

PERIOD = "2026-11"


def _thin_village_aspects(session, period: str = PERIOD) -> list[tuple[str, str, str, int, float]]:
    """(town code, village code, aspect code, n, average) of aspects answered by 1-4 residents of a village that
    has at least 5 responses in the period: raw SQL, not the digest's queries."""
    rows = sql(
        session,
        "SELECT t.code, v.code, a.aspect_code, COUNT(*), AVG(a.score * 1.0) FROM survey_answers a "
        "JOIN survey_responses r ON r.id = a.response_id JOIN survey_periods p ON p.id = r.period_id "
        "JOIN villages v ON v.id = r.village_id JOIN towns t ON t.id = v.town_id "
        "WHERE p.code = :p AND r.village_id IN ("
        "  SELECT x.village_id FROM survey_responses x JOIN survey_periods q ON q.id = x.period_id "
        "  WHERE q.code = :p GROUP BY x.village_id HAVING COUNT(*) >= :min) "
        "GROUP BY t.code, v.code, a.aspect_code HAVING COUNT(*) < :min ORDER BY 1, 2, 3",
        p=period,
        min=MIN_RESPONSES,
    )
    return [(town, village, aspect, n, round(float(avg), 2)) for town, village, aspect, n, avg in rows]


def _thin_town_aspects(session, period: str = PERIOD) -> list[tuple[str, str, int, float]]:
    """(town code, aspect code, n, average) of aspects answered by 1-4 residents in a whole town that has at least
    5 responses in the period."""
    rows = sql(
        session,
        "SELECT t.code, a.aspect_code, COUNT(*), AVG(a.score * 1.0) FROM survey_answers a "
        "JOIN survey_responses r ON r.id = a.response_id JOIN survey_periods p ON p.id = r.period_id "
        "JOIN villages v ON v.id = r.village_id JOIN towns t ON t.id = v.town_id "
        "WHERE p.code = :p AND v.town_id IN ("
        "  SELECT w.town_id FROM survey_responses x JOIN survey_periods q ON q.id = x.period_id "
        "  JOIN villages w ON w.id = x.village_id WHERE q.code = :p GROUP BY w.town_id HAVING COUNT(*) >= :min) "
        "GROUP BY t.code, a.aspect_code HAVING COUNT(*) < :min ORDER BY 1, 2",
        p=period,
        min=MIN_RESPONSES,
    )
    return [(town, aspect, n, round(float(avg), 2)) for town, aspect, n, avg in rows]


def _digest(session, code):
    return build_digest(session, resolve_scope(session, code), Week.parse(WEEK), now=NOW)


def _label(digest, aspect: str) -> str:
    return next(a.label for a in digest.satisfaction.aspects if a.code == aspect)


def test_the_fixture_has_thin_aspects_in_villages_with_enough_responses(ro_session):
    thin = _thin_village_aspects(ro_session)
    assert thin, "the fixture world should have a village with ≥ 5 responses and an aspect with < 5 answers"
    assert {town for town, *_ in thin} >= {"T1", "T2"}


@pytest.mark.parametrize("scope", ["town", "city"])
def test_village_aspect_with_few_answers_shows_insufficient_in_xlsx_csv_and_markdown(ro_session, scope):
    thin = _thin_village_aspects(ro_session)
    for town in sorted({t for t, *_ in thin}):
        digest = _digest(ro_session, town if scope == "town" else None)
        _, tables = read_xlsx(render_xlsx(digest))
        header, rows = tables[T.SHEET_VILLAGES][T.TABLE_VILLAGES]
        col = {name: i for i, name in enumerate(header)}
        by_code = {row[0]: row for row in rows}
        csv_header, csv_rows = read_csv(render_csv_table(digest, "villages"))
        csv_by_code = {row[0]: row for row in csv_rows}
        md_rows = {
            cells[0]: cells
            for line in render_markdown(digest).splitlines()
            if line.startswith("| ")
            for cells in [[c.strip() for c in line.strip("|").split(" | ")]]
        }
        for _, village, aspect, n, _avg in (x for x in thin if x[0] == town):
            label = _label(digest, aspect)
            row, csv_row, md_row = by_code[village], csv_by_code[village], md_rows[village]
            assert row[col[label]] == T.INSUFFICIENT, (village, aspect, n, row)
            assert csv_row[csv_header.index(label)] == T.INSUFFICIENT
            assert md_row[col[label]] == T.INSUFFICIENT
            assert row[col[T.VILLAGES_HEADER_NOTE]] == T.NOTE_ASPECTS_INSUFFICIENT.format(min_n=MIN_RESPONSES)
            # the village itself has enough responses: its well-answered aspects still show their averages
            assert row[col["本期问卷数"]] >= MIN_RESPONSES
            assert isinstance(row[col["综合均分"]], float)
            assert any(isinstance(row[col[a.label]], float) for a in digest.satisfaction.aspects)


def test_well_answered_village_aspects_still_show_the_sql_average(ro_session):
    """The suppression is per aspect: aspects with ≥ 5 answers in the same villages show AVG() from SQL."""
    rows = sql(
        ro_session,
        "SELECT v.code, a.aspect_code, COUNT(*), AVG(a.score * 1.0) FROM survey_answers a "
        "JOIN survey_responses r ON r.id = a.response_id JOIN survey_periods p ON p.id = r.period_id "
        "JOIN villages v ON v.id = r.village_id JOIN towns t ON t.id = v.town_id "
        "WHERE p.code = :p AND t.code = 'T1' GROUP BY v.code, a.aspect_code",
        p=PERIOD,
    )
    digest = _digest(ro_session, "T1")
    _, tables = read_xlsx(render_xlsx(digest))
    header, body = tables[T.SHEET_VILLAGES][T.TABLE_VILLAGES]
    col = {name: i for i, name in enumerate(header)}
    by_code = {row[0]: row for row in body}
    responses = {v.code: v.responses for v in digest.satisfaction.villages}
    checked = 0
    for village, aspect, n, avg in rows:
        cell = by_code[village][col[_label(digest, aspect)]]
        if responses[village] >= MIN_RESPONSES and n >= MIN_RESPONSES:
            assert cell == pytest.approx(round(float(avg), 2))
            checked += 1
        else:
            assert cell == T.INSUFFICIENT
    assert checked > 0


def test_town_aspect_with_few_answers_shows_insufficient_in_text_sheets_and_chart(ro_session):
    thin = _thin_town_aspects(ro_session)
    assert thin, "the fixture world should have a town with ≥ 5 responses and an aspect with < 5 answers"
    for town in sorted({t for t, *_ in thin}):
        digest = _digest(ro_session, town)
        text = render_text(digest)
        markdown = render_markdown(digest)
        _, tables = read_xlsx(render_xlsx(digest))
        aspects = {row[0]: row for row in tables[T.SHEET_ASPECTS][T.TABLE_ASPECTS][1]}
        figure = build_figure(digest)
        chart_texts = {t.get_text() for t in figure.findobj(Text) if t.get_visible()}
        top = figure.axes[0]
        current_bars = [p for p in top.patches if isinstance(p, Rectangle) and p.get_facecolor() == to_rgba(CURRENT_COLOR)]
        shown = [a for a in digest.satisfaction.aspects if a.current.n >= MIN_RESPONSES]
        assert len(current_bars) == len(shown) > 0  # a bar for each well-answered aspect, none for thin ones
        for _, aspect, n, avg in (x for x in thin if x[0] == town):
            label = _label(digest, aspect)
            # text: 样本不足 with n, never the average
            assert T.ASPECT_LINE_INSUFFICIENT.format(label=label, n=n) in text
            assert f"{label} {avg:.2f}" not in text
            assert T.ASPECTS_INSUFFICIENT_NOTE.format(min_n=MIN_RESPONSES) in text
            # 满意度分项 sheet and Markdown: 样本不足, the count, and no change (which would give the average away)
            code, _, now, count, _, _, change = aspects[aspect]
            assert (now, count, change) == (T.INSUFFICIENT, n, None)
            assert f"| {aspect} | {label} | {T.INSUFFICIENT} | {n} |" in markdown
            assert f"{avg:.2f}" not in [line for line in markdown.splitlines() if line.startswith(f"| {aspect} | {label} |")][0]
            # chart: the label 样本不足 (n=…) and no figure
            assert T.CHART_INSUFFICIENT.format(n=n) in chart_texts
            assert not any(t.startswith(f"{avg:.2f}") for t in chart_texts)


def test_previous_period_aspect_with_few_answers_hides_its_average_and_the_change(ro_session):
    """清河街道 had enough responses in 2026-10, but some aspects were answered by fewer than 5 residents."""
    thin = {(t, a): (n, avg) for t, a, n, avg in _thin_town_aspects(ro_session, "2026-10")}
    assert any(t == "T2" for t, _ in thin)
    digest = _digest(ro_session, "T2")
    _, tables = read_xlsx(render_xlsx(digest))
    aspects = {row[0]: row for row in tables[T.SHEET_ASPECTS][T.TABLE_ASPECTS][1]}
    text = render_text(digest)
    figure = build_figure(digest)
    previous_bars = [
        p for p in figure.axes[0].patches if isinstance(p, Rectangle) and p.get_facecolor() == to_rgba(PREVIOUS_COLOR)
    ]
    drawn = [a for a in digest.satisfaction.aspects if a.current.n]
    assert len(previous_bars) == sum(1 for a in drawn if a.previous.n >= MIN_RESPONSES) > 0
    for (town, aspect), (n, _avg) in thin.items():
        if town != "T2":
            continue
        _, label, _, _, before, n_before, change = aspects[aspect]
        assert (before, n_before, change) == (T.INSUFFICIENT, n, None)
        line = next(line for line in text.splitlines() if line.startswith(label + " "))
        assert "↑" not in line and "↓" not in line and T.CHANGE_SAME not in line, line


def test_every_average_cell_rests_on_at_least_five_answers():
    """The rule in one place: `average` refuses 1-4 answers whatever the place's response count."""
    assert average(Score(12, 3)) == T.INSUFFICIENT
    assert average(Score(16, 4), suppressed=False) == T.INSUFFICIENT
    assert average(Score(20, 5)) == 4.0
    assert average(Score()) is None
    assert average(Score(20, 5), suppressed=True) == T.INSUFFICIENT


def test_a_village_whose_answers_are_too_few_overall_is_not_ranked_or_scored():
    """5 responses, but nearly everything skipped: no 综合均分, and not among the lowest villages."""
    from bot.digest.model import SatisfactionSection

    thin = VillageRow(1, "V9", "空白村", "示范镇", responses=5, overall=Score(4, 2), aspects={"overall": Score(4, 2)})
    full = VillageRow(2, "V8", "满村", "示范镇", responses=5, overall=Score(20, 5), aspects={"overall": Score(20, 5)})
    section = SatisfactionSection(villages=[thin, full])
    assert thin.overall_hidden and not full.overall_hidden
    assert section.lowest == [full]
    assert thin.aspects_hidden == ["overall"]
