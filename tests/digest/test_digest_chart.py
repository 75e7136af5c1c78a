"""The PNG chart: its size suits Telegram, every piece of its text is drawn with a font that has the glyphs
(matplotlib's default font has no Chinese and would draw empty boxes), its red cards are this week's new and
confirmed ones (withdrawn ones left out), and a week with nothing to draw has no chart at all."""

from __future__ import annotations

import io
import logging
import warnings
from datetime import datetime

import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from bot.digest import Week, build_digest, fonts, render_png, render_xlsx, resolve_scope
from bot.digest.chart import DPI, HEIGHT_IN, WIDTH_IN, build_figure
from storage.checklog import log_check
from storage.redcards import confirm_red_card, record_red_card, withdraw_red_card
from tests.digest.test_digest_exports import read_xlsx
from tests.digest.world import NOW, WEEK, local, sql, town_filter
from texts import digest as T


@pytest.fixture
def digest(ro_session):
    return build_digest(ro_session, resolve_scope(ro_session, "T1"), Week.parse(WEEK), now=NOW)


def _texts(figure: Figure) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_the_font_is_a_real_cjk_font():
    """Not matplotlib's "Last Resort" font, whose character map covers Chinese but whose glyphs are boxes."""
    font = fonts.find_cjk_font()
    assert font.family in fonts.CJK_FAMILIES, font
    assert "Last Resort" not in font.family


def test_png_size_suits_telegram(digest):
    data = render_png(digest)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI)) == (1200, 1500)
    # sendPhoto: at most 10 MB, width + height at most 10000, aspect ratio at most 20
    assert len(data) < 10 * 1024 * 1024 and sum(image.size) <= 10000 and max(image.size) / min(image.size) <= 20


def test_every_text_is_drawn_with_a_font_that_has_its_glyphs(digest):
    cjk = fonts.find_cjk_font()
    figure = build_figure(digest)
    texts = _texts(figure)
    labels = {t.get_text() for t in texts}
    # the chart does carry Chinese: title, aspect names, departments, axis labels
    assert T.CHART_TITLE.format(scope="示范镇", week=WEEK) in labels
    assert {"社区为民服务", "社区综合评价"} <= labels
    assert {d.department for d in digest.red_cards.by_department} <= labels
    assert T.CHART_SCORE_AXIS in labels and T.CHART_RED_CARDS_AXIS in labels
    for text in texts:
        path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
        assert path == cjk.path, f"{text.get_text()!r} would be drawn with {path}"
        assert cjk.missing(text.get_text()) == set(), text.get_text()


def test_rendering_raises_no_missing_glyph_warning(digest, caplog):
    caplog.set_level(logging.WARNING, logger="matplotlib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph 25919 missing from font(s) DejaVu Sans" would fail here
        render_png(digest)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("matplotlib")] == []


def test_the_warning_check_would_catch_a_font_without_chinese():
    """Control: drawing Chinese with DejaVu Sans (no CJK glyphs) does warn, so the test above means something."""
    figure = Figure(figsize=(2, 1))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    figure.text(0.1, 0.5, "政社互动", fontfamily="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.canvas.draw()
    assert any("missing from font" in str(w.message) for w in caught)


def test_font_without_chinese_is_refused_with_a_clear_message(monkeypatch, tmp_path):
    from bot.settings import Settings

    dejavu = font_manager.findfont("DejaVu Sans", fallback_to_default=False)
    monkeypatch.setenv(fonts.ENV_VAR, dejavu)
    with pytest.raises(fonts.FontMissing, match="Chinese glyphs"):
        fonts.find_cjk_font(Settings(data_dir=tmp_path).cjk_font)
    assert fonts.find_cjk_font().missing("政社互动周报") == set()


def test_the_red_card_chart_counts_new_and_confirmed_cards_not_withdrawn_ones(empty_world, session):
    """Three departments in W47: the 区民政局 reported three cards and withdrew one the same week, the 区卫健委 had a
    card from W46 confirmed, the 派出所 reported one and withdrew it. The chart shows 2 new, 1 confirmed, and no
    派出所 at all; the XLSX table the chart is drawn from says the same."""
    v1 = empty_world.villages["V1"]
    cadre = empty_world.members["V1"]

    def report(department: str, item: str, at: datetime) -> int:
        return record_red_card(session, village_id=v1, department=department, item_id=item, task_text="摊派任务",
                               member_id=cadre.id, now=at).card.id

    civil = [report("区民政局", item, local(2026, 11, 17, 9)) for item in ("P1", "P2", "P3")]
    withdraw_red_card(session, civil[0], cadre, now=local(2026, 11, 18, 9))
    health = report("区卫健委", "C2", local(2026, 11, 10, 9))
    confirm_red_card(session, health, cadre, now=local(2026, 11, 19, 9))
    police = report("派出所", "P10", local(2026, 11, 20, 9))
    withdraw_red_card(session, police, cadre, now=local(2026, 11, 21, 9))
    session.flush()

    digest = build_digest(session, resolve_scope(session, "T1"), Week.parse(WEEK), now=NOW)
    assert digest.has_chart
    labels = {t.get_text() for t in _texts(build_figure(digest))}
    assert {"区民政局", "区卫健委"} <= labels and "派出所" not in labels
    assert " " + T.CHART_RC_BAR.format(total=2, new=2, confirmed=0) in labels
    assert " " + T.CHART_RC_BAR.format(total=1, new=0, confirmed=1) in labels
    _, tables = read_xlsx(render_xlsx(digest))
    assert tables[T.SHEET_RED_CARDS][T.TABLE_RC_CHARTED][1] == [("区民政局", 2, 0, 2), ("区卫健委", 0, 1, 1)]


def test_the_chart_figures_match_independent_sql(ro_session, shared_world):
    """Per department, the distinct cards of T1 with a 'created' or 'confirmed' event in W47 that are not withdrawn
    now; confirmed ones counted as confirmed."""
    digest = build_digest(ro_session, resolve_scope(ro_session, "T1"), Week.parse(WEEK), now=NOW)
    rows = sql(
        ro_session,
        "SELECT c.department, c.id, MAX(CASE WHEN e.action = 'confirmed' THEN 1 ELSE 0 END) "
        "FROM red_card_events e JOIN red_cards c ON c.id = e.red_card_id "
        "WHERE e.at >= :s AND e.at < :e AND e.action IN ('created', 'confirmed') AND c.status <> 'withdrawn' "
        f"{town_filter('c', shared_world.world.towns['T1'])} GROUP BY c.department, c.id",
        s=local(2026, 11, 16, 0, 0), e=local(2026, 11, 23, 0, 0),
    )
    expected: dict[str, list[int]] = {}
    for department, _, confirmed in rows:
        expected.setdefault(department, [0, 0])[1 if confirmed else 0] += 1
    assert {d.department: [d.new, d.confirmed] for d in digest.red_cards.charted} == expected
    assert sum(n + c for n, c in expected.values()) > 0


def test_an_empty_week_has_no_chart(ro_session):
    digest = build_digest(ro_session, resolve_scope(ro_session, "T2"), Week.parse("2026-W20"), now=NOW)
    assert digest.is_empty and not digest.has_chart


def test_a_week_with_nothing_to_draw_has_no_chart(empty_world, session):
    """Checks only: no average may be shown, no red card — the chart would be blank, so there is none."""
    log_check(session, text="街道让我们收医保的钱", verdict="restricted", village_id=empty_world.villages["V1"],
              now=local(2026, 11, 18, 10))
    session.flush()
    digest = build_digest(session, resolve_scope(session, "T1"), Week.parse(WEEK), now=NOW)
    assert not digest.is_empty and not digest.has_chart


def test_only_red_cards_draws_the_scores_placeholder(empty_world, session):
    record_red_card(session, village_id=empty_world.villages["V1"], department="区民政局", item_id="P1",
                    task_text="摊派", now=local(2026, 11, 18, 10))
    session.flush()
    digest = build_digest(session, resolve_scope(session, "T1"), Week.parse(WEEK), now=NOW)
    assert digest.has_chart
    labels = {t.get_text() for t in _texts(build_figure(digest))}
    assert T.CHART_NO_SCORES.format(min_n=5) in labels and "区民政局" in labels
    assert Image.open(io.BytesIO(render_png(digest))).size == (1200, 1500)
