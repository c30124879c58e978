"""Fonts, the colour table and text clean-up shared by the heatmap figures.

Module state is read-only after a lazy, locked initialisation (font bytes, the colour table,
the font's character set), plus per-thread font objects (a FreeType face must not be shared
by threads), so everything here may be called from several threads at once.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFont

from classifier.types import Explanation

log = logging.getLogger(__name__)

CMAP_NAME = "YlOrRd"
SIGNED_CMAP_NAME = "PuOr"
"""Diverging, colour-blind safe (ColorBrewer): orange = toward the label, purple = away."""
MAX_WORD_CHARS = 60
PNG_COMPRESS = 2
ELLIPSIS = "…"
MISSING_GLYPH = "□"
INVISIBLE = frozenset({0x200B, 0x200C, 0x200D, 0x2060, 0xFE0E, 0xFE0F, 0xFEFF})


# --------------------------------------------------------------------------------------------
# Lazily initialised, read-only module state


@dataclass(frozen=True)
class Assets:
    """DejaVu Sans (regular, bold, oblique) bytes, its character set, and the colour table."""

    regular: bytes
    bold: bytes
    oblique: bytes
    charset: frozenset[int]
    lut: tuple[tuple[int, int, int], ...]  # 256 RGB entries of CMAP_NAME
    lut_dark: tuple[bool, ...]  # whether white text reads better on each entry
    signed_lut: tuple[tuple[int, int, int], ...]  # 256 RGB: index 0 = -1 (away) … 255 = +1
    signed_dark: tuple[bool, ...]


_assets: Assets | None = None
_assets_lock = threading.Lock()
_fonts = threading.local()


def load_assets() -> Assets:
    """The shared :class:`Assets`, loaded once (thread-safe)."""
    global _assets
    if _assets is not None:
        return _assets
    with _assets_lock:
        if _assets is None:
            import matplotlib
            from matplotlib import font_manager
            from matplotlib.ft2font import FT2Font

            def path(**props: str) -> str:
                fp = font_manager.FontProperties(family="DejaVu Sans", **props)
                return font_manager.findfont(fp, fallback_to_default=True)

            regular_path = path()
            with open(regular_path, "rb") as fh:
                regular = fh.read()
            with open(path(weight="bold"), "rb") as fh:
                bold = fh.read()
            with open(path(style="oblique"), "rb") as fh:
                oblique = fh.read()
            charset = frozenset(FT2Font(regular_path).get_charmap())
            lut = _lut(matplotlib.colormaps[CMAP_NAME], np.linspace(0.0, 1.0, 256))
            # PuOr runs orange (0) to purple (1): reversed, so -1 (away) is purple, +1 orange.
            signed = _lut(matplotlib.colormaps[SIGNED_CMAP_NAME], np.linspace(1.0, 0.0, 256))
            _assets = Assets(
                regular, bold, oblique, charset, lut, _dark(lut), signed, _dark(signed)
            )
            log.debug("heatmap assets loaded from %s", regular_path)
    return _assets


def _lut(cmap, points: np.ndarray) -> tuple[tuple[int, int, int], ...]:
    return tuple(tuple(round(c * 255) for c in row[:3]) for row in cmap(points))  # type: ignore[misc]


def _dark(lut: Sequence[Sequence[int]]) -> tuple[bool, ...]:
    """White text where it contrasts more than black: luminance below ~0.179 (WCAG)."""
    return tuple(_luminance(rgb) < 0.179 for rgb in lut)


def _luminance(rgb: Sequence[int]) -> float:
    """Relative luminance (WCAG) of an sRGB colour given as 0-255 ints."""

    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def font_for(kind: str, size: int) -> ImageFont.FreeTypeFont:
    """This thread's FreeType font (faces are not shared between threads)."""
    cache: dict[tuple[str, int], ImageFont.FreeTypeFont] | None = getattr(_fonts, "cache", None)
    if cache is None:
        cache = _fonts.cache = {}
    font = cache.get((kind, size))
    if font is None:
        data = getattr(load_assets(), kind)
        font = cache[(kind, size)] = ImageFont.truetype(io.BytesIO(data), size)
    return font


# --------------------------------------------------------------------------------------------
# Input clean-up shared by both figures


def clean_word(word: object, charset: frozenset[int], max_chars: int = MAX_WORD_CHARS) -> str:
    """Printable form of one word: control characters dropped, glyphs the font lacks boxed."""
    out: list[str] = []
    for ch in str(word):
        cp = ord(ch)
        if cp < 32 or 0x7F <= cp < 0xA0 or cp in INVISIBLE or 0x1F3FB <= cp <= 0x1F3FF:
            continue  # controls, joiners, variation selectors, skin-tone modifiers
        if cp in charset:
            out.append(ch)
        elif not out or out[-1] != MISSING_GLYPH:
            out.append(MISSING_GLYPH)  # one box per run of characters the font lacks
    text = "".join(out)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + ELLIPSIS
    return text


def clean_weights(weights: Sequence[float], n: int) -> list[float]:
    """``n`` finite, non-negative weights normalised so the largest is 1 (all 0 if none > 0)."""
    vals: list[float] = []
    for w in list(weights)[:n]:
        try:
            f = float(w)
        except (TypeError, ValueError):
            f = 0.0
        vals.append(f if math.isfinite(f) and f > 0 else 0.0)
    if len(vals) < n:
        vals.extend([0.0] * (n - len(vals)))
    top = max(vals, default=0.0)
    return [v / top for v in vals] if top > 0 else vals


def clean_signed(weights: Sequence[float], n: int) -> list[float]:
    """``n`` finite weights in [-1, 1], scaled so the largest magnitude is 1 (signs kept)."""
    vals: list[float] = []
    for w in list(weights)[:n]:
        try:
            f = float(w)
        except (TypeError, ValueError):
            f = 0.0
        vals.append(f if math.isfinite(f) else 0.0)
    vals.extend([0.0] * (n - len(vals)))
    top = max((abs(v) for v in vals), default=0.0)
    return [v / top for v in vals] if top > 0 else vals


def title_line(explanation: Explanation, max_label: int = 200) -> str:
    """ "label · 87% · method" (the label shortened to ``max_label`` characters); a
    contrastive explanation says "label, not other · 87% · method"."""
    pred = explanation.prediction
    try:
        conf = float(pred.confidence)
    except (TypeError, ValueError):
        conf = float("nan")
    pct = f"{conf:.0%}" if math.isfinite(conf) else "?%"
    label = str(pred.label)
    if len(label) > max_label:
        label = label[: max_label - 1] + ELLIPSIS
    if explanation.versus is not None:
        versus = str(explanation.versus)
        if len(versus) > max_label:
            versus = versus[: max_label - 1] + ELLIPSIS
        label = f"{label}, not {versus}"
    return f"{label} · {pct} · {explanation.method}"


def fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """``text`` shortened with "…" until it fits in ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid] + ELLIPSIS) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + ELLIPSIS


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=PNG_COMPRESS)
    return buf.getvalue()
