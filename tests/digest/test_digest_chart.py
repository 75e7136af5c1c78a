"""The PNG chart: its size suits Telegram, and every piece of its text is drawn with a font that has the glyphs
(matplotlib's default font has no Chinese and would draw empty boxes)."""

from __future__ import annotations

import io
import logging
import warnings

import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from bot.digest import Week, build_digest, render_png, resolve_scope
from bot.digest import fonts
from bot.digest.chart import DPI, HEIGHT_IN, WIDTH_IN, build_figure
from texts import digest as T
from tests.digest.world import NOW, WEEK


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


def test_font_without_chinese_is_refused_with_a_clear_message(monkeypatch):
    dejavu = font_manager.findfont("DejaVu Sans", fallback_to_default=False)
    monkeypatch.setenv(fonts.ENV_VAR, dejavu)
    fonts.find_cjk_font.cache_clear()
    try:
        with pytest.raises(fonts.FontMissing, match="Chinese glyphs"):
            fonts.find_cjk_font()
    finally:
        monkeypatch.delenv(fonts.ENV_VAR)
        fonts.find_cjk_font.cache_clear()
    assert fonts.find_cjk_font().missing("政社互动周报") == set()


def test_a_quiet_week_draws_placeholders(ro_session):
    digest = build_digest(ro_session, resolve_scope(ro_session, "T2"), Week.parse("2026-W20"), now=NOW)
    labels = {t.get_text() for t in _texts(build_figure(digest))}
    assert T.CHART_NO_RED_CARDS in labels
    image = Image.open(io.BytesIO(render_png(digest)))
    assert image.size == (1200, 1500)
