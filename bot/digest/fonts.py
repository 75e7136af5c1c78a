"""A CJK font for matplotlib, found at run time without the network.

matplotlib's default font (DejaVu Sans) has no Chinese glyphs and draws empty boxes. The project's set-up
installs WenQuanYi Micro Hei (Debian package fonts-wqy-microhei, see the Makefile); any of the other usual CJK
fonts works too, and CADREBOT_CJK_FONT=/path/to/font.ttf|ttc (Settings.cjk_font) picks one explicitly.

    font = find_cjk_font()          # CJKFont(family='WenQuanYi Micro Hei', path='/usr/share/…/wqy-microhei.ttc')
    font = find_cjk_font(settings.cjk_font)   # that file, or FontMissing saying why not
    font.missing("政社互动")         # characters the font has no glyph for: set()

matplotlib caches its font list when it is first imported; a font installed after that is registered here
from its file, so the order of installation does not matter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ENV_VAR = "CADREBOT_CJK_FONT"  # named in messages; bot.settings reads it

# Families in order of preference (all have the simplified Chinese glyphs the digest needs).
CJK_FAMILIES: tuple[str, ...] = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)
# Where Debian/Ubuntu, Fedora, Alpine and macOS put them.
CJK_FILES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
)
# What every chart needs at least: digits and the common words of the labels.
PROBE = "0123456789政社互动周报居民满意度分项红牌候选部门本期上期次数平均分样本不足（）—–"
INSTALL_HINT = (
    "no CJK font found for the digest chart: install one (Debian/Ubuntu: apt-get install fonts-wqy-microhei, "
    f"which `make setup` does) or set {ENV_VAR}=/path/to/a/font.ttc"
)

_lock = threading.Lock()


class FontMissing(RuntimeError):
    """No installed font can draw the chart's Chinese labels."""


@dataclass(frozen=True)
class CJKFont:
    family: str
    path: str
    index: int = 0

    def charmap(self) -> frozenset[int]:
        return _charmap(self.path, self.index)

    def missing(self, text: str) -> set[str]:
        """The characters of `text` (other than whitespace) this font has no glyph for."""
        cmap = self.charmap()
        return {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}


@lru_cache(maxsize=32)
def _charmap(path: str, index: int = 0) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    try:
        face = FT2Font(path, face_index=index)
    except TypeError:  # older matplotlib without face_index
        face = FT2Font(path)
    return frozenset(face.get_charmap())


def _register(path: str) -> None:
    """Add a font file to matplotlib's font list unless it is there already."""
    from matplotlib import font_manager

    resolved = str(Path(path).resolve())
    if any(str(Path(entry.fname).resolve()) == resolved for entry in font_manager.fontManager.ttflist):
        return
    font_manager.fontManager.addfont(path)


def _entries() -> list:
    from matplotlib import font_manager

    return list(font_manager.fontManager.ttflist)


def _covers(entry, probe: str) -> bool:  # entry: a matplotlib FontEntry
    try:
        cmap = _charmap(entry.fname, getattr(entry, "index", 0) or 0)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(ch) in cmap for ch in probe if not ch.isspace())


# Fonts whose character map covers everything but whose glyphs are placeholder boxes (matplotlib ships one).
PLACEHOLDER_FONTS = ("Last Resort",)


def _pick(entries: list, probe: str, path: str | None = None) -> CJKFont | None:
    by_family: dict[str, list] = {}
    for entry in entries:
        if any(entry.name.startswith(name) for name in PLACEHOLDER_FONTS):
            continue
        if path is not None and str(Path(entry.fname).resolve()) != str(Path(path).resolve()):
            continue
        by_family.setdefault(entry.name, []).append(entry)
    ordered = [f for f in CJK_FAMILIES if f in by_family] + sorted(set(by_family) - set(CJK_FAMILIES))
    for family in ordered:
        for entry in by_family[family]:
            if entry.fname.lower().endswith((".ttf", ".otf", ".ttc", ".otc")) and _covers(entry, probe):
                return CJKFont(family, entry.fname, getattr(entry, "index", 0) or 0)
    return None


@lru_cache(maxsize=4)
def find_cjk_font(font_file: str | None = None) -> CJKFont:
    """The CJK font the chart uses: `font_file` (the deployer's CADREBOT_CJK_FONT) if given, else an installed
    one; FontMissing (with how to install one) if there is none."""
    with _lock:
        override = (font_file or "").strip()
        if override:
            if not Path(override).is_file():
                raise FontMissing(f"{ENV_VAR}={override}: no such file")
            _register(override)
            font = _pick(_entries(), PROBE, path=override)
            if font is None:
                raise FontMissing(f"{ENV_VAR}={override}: the font lacks Chinese glyphs")
            return font
        for path in CJK_FILES:
            if Path(path).is_file():
                _register(path)
        entries = _entries()
        preferred = [e for e in entries if e.name in CJK_FAMILIES]
        font = _pick(preferred, PROBE) or _pick(entries, PROBE)
        if font is None:
            raise FontMissing(INSTALL_HINT)
        return font


__all__ = ["CJKFont", "CJK_FAMILIES", "CJK_FILES", "ENV_VAR", "FontMissing", "INSTALL_HINT", "find_cjk_font"]
