"""The digest's PNG chart: residents' satisfaction by aspect (this period against the previous one, with the
change), and this week's new and confirmed red cards by department (withdrawn ones left out). Labels are
Chinese, drawn with the CJK font of `bot.digest.fonts`. A digest without `has_chart` gets no chart at all.

    png = render_png(digest)                 # bytes, 1200 x 1500 pixels
    figure = build_figure(digest)            # the matplotlib Figure (tests inspect its texts)

Uses matplotlib's object API with the Agg canvas (no pyplot, no display); a lock serialises rendering because
rcParams are process-wide.
"""

from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.digest.fonts import find_cjk_font
from bot.digest.model import MIN_RESPONSES, Digest
from bot.digest.text import fmt_score_change
from texts import digest as T

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 12.5, 120  # 1200 x 1500 px: readable on a phone, far below Telegram's limits
MAX_DEPARTMENTS = 10
CURRENT_COLOR = "#2F6DB5"
PREVIOUS_COLOR = "#B8C7DC"
CONFIRMED_COLOR = "#C0392B"
NEW_COLOR = "#F1A9A0"

_lock = threading.Lock()


def _rc(font_file: str | None) -> dict:
    font = find_cjk_font(font_file)
    return {
        "font.family": [font.family],
        "font.sans-serif": [font.family, "DejaVu Sans"],
        "axes.unicode_minus": False,  # the CJK font draws '-' well; U+2212 may be missing
        "font.size": 12,
    }


def build_figure(digest: Digest, font_file: str | None = None) -> Figure:
    """The chart as a Figure, drawn once (so tick labels exist). FontMissing if no CJK font is installed.
    `font_file`: the deployer's CJK font (Settings.cjk_font); None finds an installed one."""
    with _lock, rc_context(_rc(font_file)):
        figure = _build(digest)
        figure.canvas.draw()
        return figure


def _build(digest: Digest) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(T.CHART_TITLE.format(scope=digest.scope.name, week=digest.week.iso), fontsize=16)
    top, bottom = figure.subplots(2, 1, height_ratios=[1.15, 1])
    _aspects(top, digest)
    _departments(bottom, digest)
    return figure


def _aspects(ax: Axes, digest: Digest) -> None:
    """One row per answered aspect. An aspect answered by fewer than MIN_RESPONSES residents gets no bar, only
    the label 样本不足 (n=…); so does the previous period's bar of an aspect that had too few answers then."""
    s = digest.satisfaction
    rows = [a for a in s.aspects if a.current.n] if not s.suppressed else []
    if s.period and s.previous_period:
        title = T.CHART_ASPECTS_TITLE.format(period=s.period, previous=s.previous_period)
    else:
        title = T.CHART_ASPECTS_TITLE_NO_PREVIOUS.format(period=s.period or "—")
    ax.set_title(title, loc="left", fontsize=13)
    if not any(not a.hidden for a in rows):
        ax.text(0.5, 0.5, T.CHART_NO_SCORES.format(min_n=MIN_RESPONSES), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    shown = rows[::-1]  # barh draws bottom-up; the first aspect goes on top
    labels = [a.label for a in shown]
    has_previous = any(not a.previous_hidden for a in shown)
    y = list(range(len(shown)))
    height = 0.38 if has_previous else 0.6
    offset = height / 2 if has_previous else 0
    bars = [(row, a) for row, a in zip(y, shown, strict=True) if not a.hidden]
    ax.barh(
        [row + offset for row, _ in bars],
        [a.current.rounded() for _, a in bars],
        height=height,
        color=CURRENT_COLOR,
        label=T.CHART_CURRENT,
    )
    if has_previous:
        before = [(row, a) for row, a in zip(y, shown, strict=True) if not a.previous_hidden]
        ax.barh(
            [row - offset for row, _ in before],
            [a.previous.rounded() for _, a in before],
            height=height,
            color=PREVIOUS_COLOR,
            label=T.CHART_PREVIOUS,
        )
    for row, aspect in zip(y, shown, strict=True):
        if aspect.hidden:
            note, x = T.CHART_INSUFFICIENT.format(n=aspect.current.n), 0.05
        else:
            note, x = f"{aspect.current.rounded():.2f}", aspect.current.rounded() + 0.05
            if aspect.change is not None:
                note += f"  {fmt_score_change(aspect.change)}"
        ax.text(x, row + offset, note, va="center", fontsize=11)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 5.9)
    ax.set_xticks([0, 1, 2, 3, 4, 5])
    ax.set_xlabel(T.CHART_SCORE_AXIS)
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    if has_previous:
        ax.legend(loc="lower right", frameon=False)


def _departments(ax: Axes, digest: Digest) -> None:
    """Per department, this week's new and confirmed red cards, stacked; withdrawn cards are not counted."""
    departments = [d for d in digest.red_cards.charted if d.total][:MAX_DEPARTMENTS]
    ax.set_title(T.CHART_RED_CARDS_TITLE, loc="left", fontsize=13)
    if not departments:
        ax.text(0.5, 0.5, T.CHART_NO_RED_CARDS, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    shown = departments[::-1]  # barh draws bottom-up; the department with the most cards goes on top
    y = list(range(len(shown)))
    confirmed = [d.confirmed for d in shown]
    ax.barh(y, confirmed, height=0.6, color=CONFIRMED_COLOR, label=T.CHART_RC_CONFIRMED)
    ax.barh(y, [d.new for d in shown], left=confirmed, height=0.6, color=NEW_COLOR, label=T.CHART_RC_NEW)
    for row, d in zip(y, shown, strict=True):
        ax.text(d.total, row, " " + T.CHART_RC_BAR.format(total=d.total, new=d.new, confirmed=d.confirmed),
                va="center", fontsize=11)
    ax.set_yticks(y, [d.department for d in shown])
    ax.set_xlim(0, max(d.total for d in shown) * 1.45 + 1)
    ax.set_xlabel(T.CHART_RED_CARDS_AXIS)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower right", frameon=False)


def render_png(digest: Digest, font_file: str | None = None) -> bytes:
    """The chart as PNG bytes. Callers check `digest.has_chart` first: without it the picture would be blank.
    `font_file` as for build_figure."""
    with _lock, rc_context(_rc(font_file)):
        figure = _build(digest)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


__all__ = ["DPI", "HEIGHT_IN", "WIDTH_IN", "build_figure", "render_png"]
