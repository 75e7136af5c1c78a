"""The XLSX report opens and its sheets hold the same numbers as the text; the CSV export is one file per table
(UTF-8 with a BOM, one header row, rectangular: what Excel and pandas.read_csv load) with the same tables;
Markdown has them all; Telegram texts stay within 4096 characters; an empty week is one line; n < 5 shows 样本不足."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from bot.digest import (
    MIN_RESPONSES,
    Week,
    build_digest,
    render_csv_table,
    render_csv_zip,
    render_markdown,
    render_messages,
    render_text,
    render_xlsx,
    resolve_scope,
)
from bot.digest.tables import TABLE_KEYS
from bot.digest.text import TELEGRAM_LIMIT, split_messages
from tests.digest.world import NOW, WEEK, local
from texts import digest as T

Tables = dict[str, dict[str, tuple[tuple, list[tuple]]]]


def read_xlsx(data: bytes) -> tuple[list[str], Tables]:
    """Sheet names, and per sheet {table title: (header, rows)} as written: title row, header row, rows, blank."""
    workbook = load_workbook(io.BytesIO(data))
    tables: Tables = {}
    for ws in workbook.worksheets:
        rows = [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]
        found: dict[str, tuple[tuple, list[tuple]]] = {}
        i = 0
        while i < len(rows):
            if rows[i][0] is None:
                i += 1
                continue
            title, header = rows[i][0], tuple(c for c in rows[i + 1] if c is not None)
            body: list[tuple] = []
            i += 2
            while i < len(rows) and any(c is not None for c in rows[i]):
                body.append(tuple(rows[i][: len(header)]))
                i += 1
            found[title] = (header, body)
        tables[ws.title] = found
    return workbook.sheetnames, tables


def read_csv(data: bytes) -> tuple[tuple, list[tuple]]:
    """One CSV file as a spreadsheet program reads it: UTF-8 with a BOM, one header row, every row as wide as the
    header (what pandas.read_csv needs to load it as a table)."""
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header, body = tuple(rows[0]), [tuple(r) for r in rows[1:]]
    assert header and all(header), header
    assert all(len(r) == len(header) for r in body), [r for r in body if len(r) != len(header)]
    return header, body


def read_csv_zip(data: bytes) -> dict[str, tuple[tuple, list[tuple]]]:
    """The zip of `--format csv`: {file name: (header, rows)}."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: read_csv(archive.read(name)) for name in archive.namelist()}


def _norm(cell):
    """A cell as a number where it is one (CSV has text, XLSX numbers), else as text ('' for empty)."""
    if cell is None or cell == "":
        return ""
    try:
        return round(float(cell), 2)
    except (TypeError, ValueError):
        return str(cell)


@pytest.fixture(params=["T1", None], ids=["town", "city"])
def digest(request, ro_session):
    return build_digest(ro_session, resolve_scope(ro_session, request.param), Week.parse(WEEK), now=NOW)


def test_xlsx_opens_with_the_five_sheets(digest):
    names, tables = read_xlsx(render_xlsx(digest))
    assert names == ["概览", "村社区", "红牌候选", "满意度分项", "意见"]
    assert all(tables[name] for name in names)


def test_xlsx_overview_holds_the_numbers_of_the_text(digest):
    _, tables = read_xlsx(render_xlsx(digest))
    text = render_text(digest)
    overview = {row[0]: row[1:] for row in tables["概览"][T.TABLE_OVERVIEW][1]}
    c, r, s = digest.checks, digest.red_cards, digest.satisfaction
    assert overview[T.OV_CHECKS] == (c.total, c.previous_total)
    assert f"本周 {c.total} 次（上周 {c.previous_total}" in text
    for verdict, n in c.by_verdict.items():
        label = T.VERDICT_LABELS[verdict]
        assert overview[T.OV_VERDICT.format(label=label)] == (n, c.previous_by_verdict.get(verdict, 0))
        assert f"{label} {n}（上周 {c.previous_by_verdict.get(verdict, 0)}）" in text
    assert overview[T.OV_DOWN][0] == c.thumbs_down and f"👎 {c.thumbs_down} 次" in text
    assert overview[T.OV_RC_REPORTS][0] == r.reports and f"本周上报 {r.reports} 次" in text
    for key, value in ((T.OV_RC_NEW, r.new), (T.OV_RC_CONFIRMED, r.confirmed), (T.OV_RC_WITHDRAWN, r.withdrawn)):
        assert overview[key][0] == value
    assert T.RED_CARDS_FLOW.format(new=r.new, confirmed=r.confirmed, withdrawn=r.withdrawn) in text
    period = {row[0]: row[1:] for row in tables["概览"][T.OV_PERIOD][1]}
    assert period[T.OV_RESPONSES] == (s.responses, s.previous_responses)
    assert f"问卷 {s.responses} 份（上期 {s.previous_responses}）" in text
    top = tables["概览"][T.TABLE_TOP_ITEMS][1]
    assert [(row[1], row[3]) for row in top] == [(i.item_id, i.count) for i in c.top_items]
    for rank, item_id, _, count in top:
        assert f"{rank}. {item_id} {count} 次" in text


def test_xlsx_villages_sheet_matches_the_text(digest):
    _, tables = read_xlsx(render_xlsx(digest))
    header, rows = tables["村社区"][T.TABLE_VILLAGES]
    assert header[:8] == T.VILLAGES_HEADER_BASE
    assert [row[0] for row in rows] == [v.code for v in digest.satisfaction.villages]
    text = render_text(digest)
    col = {name: i for i, name in enumerate(header)}
    for row, v in zip(rows, digest.satisfaction.villages, strict=True):
        assert row[col["本周任务检查"]] == v.checks
        assert row[col["本周红牌候选上报"]] == v.red_card_reports
        assert row[col["本期问卷数"]] == v.responses
        overall = row[col["综合均分"]]
        if v.responses == 0:
            assert overall is None
        elif v.responses < MIN_RESPONSES:
            assert overall == T.INSUFFICIENT
            assert all(row[col[a.label]] == T.INSUFFICIENT for a in digest.satisfaction.aspects)
        else:
            assert overall == pytest.approx(v.overall.rounded())
            if not digest.scope.is_city:
                assert f"{v.name} {overall:.2f} · {v.responses} 份" in text
    lowest = [v for v in digest.satisfaction.lowest]
    for i, v in enumerate(lowest, 1):
        assert T.LOWEST_LINE.format(rank=i, village=v.name, average=f"{v.overall.rounded():.2f}", responses=v.responses) in text


def test_xlsx_red_cards_and_aspects_match_the_text(digest):
    _, tables = read_xlsx(render_xlsx(digest))
    text = render_text(digest)
    departments = tables["红牌候选"][T.TABLE_RC_DEPARTMENTS][1]
    for rank, row in enumerate(departments, 1):
        department, reports, items, villages = row[:4]
        assert T.DEPARTMENT_LINE.format(rank=rank, department=department, reports=reports, items=items, villages=villages) in text
    detail = tables["红牌候选"][T.TABLE_RC_DETAIL][1]
    assert sum(row[5] for row in detail) == digest.red_cards.reports
    ytd_title = T.TABLE_RC_YTD.format(year=2026)
    for row in tables["红牌候选"][ytd_title][1][:5]:
        rank, department, reports, cards, _ = row
        assert T.YTD_LINE.format(rank=rank, department=department, reports=reports, cards=cards) in text

    header, aspects = tables["满意度分项"][T.TABLE_ASPECTS]
    assert header == T.ASPECTS_HEADER
    for _code, label, now, n, _before, _n_before, change in aspects:
        if n:
            sign = "持平" if change == 0 else (f"↑{change:.2f}" if change > 0 else f"↓{-change:.2f}")
            assert f"{label} {now:.2f}（n={n}，{sign}）" in text


def test_xlsx_comments_sheet_matches_the_text(digest):
    _, tables = read_xlsx(render_xlsx(digest))
    text = render_text(digest)
    comments = tables["意见"][T.TABLE_COMMENTS][1]
    assert len(comments) == len(digest.satisfaction.comments) > 0
    for day, village, comment in comments:
        month, dd = int(day[5:7]), int(day[8:10])
        assert f"“{comment}”（{village}，{month}月{dd}日）" in text


def test_csv_is_a_zip_of_one_file_per_table_holding_the_xlsx_tables(digest):
    files = read_csv_zip(render_csv_zip(digest))
    assert list(files) == [f"{key}.csv" for key in TABLE_KEYS]
    _, xlsx = read_xlsx(render_xlsx(digest))
    in_xlsx = [(header, rows) for found in xlsx.values() for header, rows in found.values()]
    assert len(in_xlsx) == len(files)
    for (header, rows), (header_csv, rows_csv) in zip(in_xlsx, files.values(), strict=True):
        assert header_csv == header
        assert [tuple(map(_norm, r)) for r in rows_csv] == [tuple(map(_norm, r)) for r in rows]


@pytest.mark.parametrize("key", TABLE_KEYS)
def test_one_table_as_csv_is_the_same_file_as_in_the_zip(digest, key):
    data = render_csv_table(digest, key)
    with zipfile.ZipFile(io.BytesIO(render_csv_zip(digest))) as archive:
        assert archive.read(f"{key}.csv") == data
    header, rows = read_csv(data)
    if key == "villages":
        assert header[:2] == ("村社区代码", "村社区")
        assert [row[0] for row in rows] == [v.code for v in digest.satisfaction.villages]


def test_an_unknown_table_is_refused(digest):
    with pytest.raises(KeyError):
        render_csv_table(digest, "nope")


def test_markdown_has_every_table(digest):
    md = render_markdown(digest)
    assert md.startswith(f"# 政社互动周报 · {digest.scope.name}")
    for sheet in T.SHEETS:
        assert f"## {sheet}" in md
    for v in digest.satisfaction.villages:
        assert f"| {v.code} | {v.name} |" in md


def test_telegram_messages_stay_within_the_limit(digest):
    messages = render_messages(digest, attachments=True)
    assert all(0 < len(m) <= TELEGRAM_LIMIT for m in messages)
    small = render_messages(digest, limit=400)
    assert len(small) > 1 and all(len(m) <= 400 for m in small)
    # nothing is lost by splitting
    assert "".join(small).replace("\n", "") == render_text(digest).replace("\n", "")


def test_split_messages_handles_huge_paragraphs_and_lines():
    parts = ["标题", "\n".join(f"第{i}行 " + "字" * 50 for i in range(300)), "x" * 9000]
    messages = split_messages(parts)
    assert all(len(m) <= TELEGRAM_LIMIT for m in messages)
    assert "".join(messages).replace("\n", "") == "".join(parts).replace("\n", "")


# ---------------------------------------------------------------------------------------------- empty and small


def test_an_empty_week_is_one_line(empty_world, session):
    digest = build_digest(session, resolve_scope(session, "T1"), Week.parse(WEEK), now=NOW)
    assert digest.is_empty
    messages = render_messages(digest, attachments=True)
    assert messages == [T.EMPTY_WEEK.format(scope="示范镇", week=WEEK, first="11月16日", last="11月22日")]
    assert "\n" not in messages[0]
    assert render_text(digest).strip() == messages[0]
    # the exports still open, with zeros
    _, tables = read_xlsx(render_xlsx(digest))
    overview = {row[0]: row[1:] for row in tables["概览"][T.TABLE_OVERVIEW][1]}
    assert overview[T.OV_CHECKS] == (0, 0)


def test_a_quiet_week_of_a_busy_database_is_empty(ro_session):
    digest = build_digest(ro_session, resolve_scope(ro_session, "T2"), Week.parse("2026-W20"), now=NOW)
    assert digest.is_empty and render_messages(digest) == [
        T.EMPTY_WEEK.format(scope="清河街道", week="2026-W20", first="5月11日", last="5月17日")
    ]


def test_fewer_than_five_responses_in_the_whole_scope_shows_no_scores(empty_world, session):
    from storage.surveys import ensure_period, period_spec, submit_response

    period = ensure_period(session, period_spec(local(2026, 11, 10)))
    for i in range(MIN_RESPONSES - 1):
        submit_response(session, respondent_key=f"{i:064x}", village_id=empty_world.villages["V5"], period_id=period.id,
                        answers={"overall": 5, "service": 1}, comment="意见很多", day=local(2026, 11, 18).date())
    session.flush()
    digest = build_digest(session, resolve_scope(session, "T2"), Week.parse(WEEK), now=NOW)
    s = digest.satisfaction
    assert s.responses == MIN_RESPONSES - 1 and s.suppressed
    assert all(a.suppressed for a in s.aspects) and s.comments == [] and s.lowest == []
    text = render_text(digest)
    assert T.SCOPE_INSUFFICIENT.format(min_n=MIN_RESPONSES) in text
    assert "5.00" not in text and "1.00" not in text and "意见很多" not in text
    _, tables = read_xlsx(render_xlsx(digest))
    aspects = tables["满意度分项"][T.TABLE_ASPECTS][1]
    assert {row[2] for row in aspects} == {T.INSUFFICIENT}
    # one more response and the scores appear
    submit_response(session, respondent_key="f" * 64, village_id=empty_world.villages["V5"], period_id=period.id,
                    answers={"overall": 4}, day=local(2026, 11, 18).date())
    session.flush()
    digest = build_digest(session, resolve_scope(session, "T2"), Week.parse(WEEK), now=NOW)
    assert not digest.satisfaction.suppressed
    assert "社区综合评价 4.80（n=5" in render_text(digest)


def test_the_current_week_says_so_far(ro_session):
    now = local(2026, 11, 19, 10, 5)
    digest = build_digest(ro_session, resolve_scope(ro_session, "T1"), Week.containing(now), now=now)
    assert digest.partial and digest.week.iso == WEEK
    assert "（本周截至 11月19日 10:05）" in render_messages(digest)[0]
    finished = build_digest(ro_session, resolve_scope(ro_session, "T1"), Week.parse(WEEK), now=NOW)
    assert not finished.partial and "截至" not in render_messages(finished)[0]
