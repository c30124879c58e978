"""Draw an :class:`~classifier.types.Explanation` as PNG bytes for a Slack reply.

Two figures:

* :func:`render` — the one a moderator reads at a glance: a title with the predicted label,
  its confidence and the explanation method, then the words in reading order, wrapped to a
  fixed width, each on a box shaded by its weight (darkest = the word the model weighed
  most), and a colour bar. Drawn with Pillow (matplotlib's text layout is too slow for the
  reply path), with matplotlib's bundled DejaVu Sans and a matplotlib colormap.
* :func:`render_layers` — words-by-layers: how much the [CLS] token attended to each word in
  each layer. Drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), never
  pyplot, so it is headless and leaves no global figures behind.

Both return bytes, write no files and may be called from several threads at once: the fonts
and the colour table (:mod:`classifier.glyphs`) are read-only once loaded, and a lock
serialises the matplotlib drawing in :func:`render_layers`.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from classifier.glyphs import (
    CMAP_NAME,
    ELLIPSIS,
    MISSING_GLYPH,
    PNG_COMPRESS,
    clean_signed,
    clean_weights,
    clean_word,
    fit,
    font_for,
    load_assets,
    png,
    title_line,
)
from classifier.types import Explanation

__all__ = ["MAX_LAYER_WORDS", "MAX_WORDS", "render", "render_layers"]

log = logging.getLogger(__name__)

MAX_WORDS = 250
"""Words drawn by :func:`render`; the rest become one "… (+N more words)"."""
MAX_LAYER_WORDS = 60
"""Word columns drawn by :func:`render_layers`."""

LAYERS_CMAP_NAME = CMAP_NAME

# Geometry of `render` (pixels).
_WIDTH = 960
_MARGIN = 24
_TITLE_SIZE = 24
_NOTE_SIZE = 15
_WORD_SIZE = 19
_LEGEND_SIZE = 14
_PAD_X = 5
_PAD_Y = 4
_GAP_X = 5
_GAP_Y = 7
_BAR_W = 320
_BAR_H = 12
_BG = (255, 255, 255)
_INK = (33, 33, 33)
_MUTED = (110, 110, 110)
_WHITE = (255, 255, 255)

TRUNCATED_NOTE = "(text truncated to the model's limit)"
LEGEND = "word weight, low → high"
SIGNED_LEGEND = "orange: pushed toward “{label}” · purple: pushed away from it"
CONTRASTIVE_LEGEND = "orange: pushed toward “{label}” · purple: toward “{versus}”"
_OUTLINE = (190, 190, 190)

_mpl_lock = threading.Lock()


# --------------------------------------------------------------------------------------------
# render


def render(explanation: Explanation) -> bytes:
    """PNG bytes of the word heatmap: title, shaded words in reading order, colour bar.

    Weights are normalised to the largest one, so the top word is always darkest. Signed
    explanations (``signed_weights``, the gradient methods) use a diverging, colour-blind safe
    palette instead: orange for words that pushed toward the label, purple for words that
    pushed away from it, white for neither, with a legend that says so. At most
    :data:`MAX_WORDS` words are drawn, then "… (+N more words)". Characters the font cannot
    draw (e.g. most emoji) are shown as "□". Writes no files; safe to call from several
    threads.
    """
    assets = load_assets()
    title_font = font_for("bold", _TITLE_SIZE)
    note_font = font_for("oblique", _NOTE_SIZE)
    word_font = font_for("regular", _WORD_SIZE)

    words_in = list(explanation.words)
    if len(explanation.weights) != len(words_in):
        log.warning(
            "explanation has %d words but %d weights; extra weights ignored, missing ones are 0",
            len(words_in),
            len(explanation.weights),
        )
    signed = bool(explanation.signed_weights)
    if signed:
        weights = clean_signed(explanation.signed_weights, len(words_in))
    else:
        weights = clean_weights(explanation.weights, len(words_in))
    capped = len(words_in) > MAX_WORDS
    inner_w = _WIDTH - 2 * _MARGIN

    # Measure and place every word box (x, line) before drawing, to size the image.
    ascent, descent = word_font.getmetrics()
    box_h = ascent + descent + 2 * _PAD_Y
    line_h = box_h + _GAP_Y
    max_text_w = inner_w - 2 * _PAD_X
    # text, weight (None for the "… more words" tail), x, line, width
    placed: list[tuple[str, float | None, int, int, float]] = []
    x, line = 0, 0
    items: list[tuple[str, float]] = [(w, weights[i]) for i, w in enumerate(words_in[:MAX_WORDS])]
    for raw, weight in items:
        text = clean_word(raw, assets.charset)
        if not text:
            text = MISSING_GLYPH
        text_w = word_font.getlength(text)
        if text_w > max_text_w:
            text = fit(text, word_font, max_text_w)
            text_w = word_font.getlength(text)
        bw = math.ceil(text_w) + 2 * _PAD_X
        if x > 0 and x + bw > inner_w:
            x, line = 0, line + 1
        placed.append((text, weight, x, line, text_w))
        x += bw + _GAP_X
    if capped:
        more = f"{ELLIPSIS} (+{len(words_in) - MAX_WORDS} more words)"
        more_w = word_font.getlength(more)
        if x > 0 and x + math.ceil(more_w) + 2 * _PAD_X > inner_w:
            x, line = 0, line + 1
        placed.append((more, None, x, line, more_w))
    n_lines = line + 1 if placed else 1

    # Vertical layout.
    y = _MARGIN
    title_y = y
    y += _TITLE_SIZE + 8
    note_y = y
    if explanation.truncated:
        y += _NOTE_SIZE + 8
    y += 8
    words_y = y
    y += n_lines * line_h - _GAP_Y + 22
    bar_y = y
    y += _BAR_H + 6 + _LEGEND_SIZE + 4
    height = y + _MARGIN - 4

    image = Image.new("RGB", (_WIDTH, height), _BG)
    draw = ImageDraw.Draw(image)

    draw.text(
        (_MARGIN, title_y),
        fit(clean_word(title_line(explanation), assets.charset, 200), title_font, inner_w),
        font=title_font,
        fill=_INK,
    )
    if explanation.truncated:
        draw.text((_MARGIN, note_y), TRUNCATED_NOTE, font=note_font, fill=_MUTED)

    if not placed:
        draw.text((_MARGIN, words_y + _PAD_Y), "(no words to show)", font=note_font, fill=_MUTED)
    for text, weight, bx, bline, text_w in placed:
        left = _MARGIN + bx
        top = words_y + bline * line_h
        if weight is None:  # the "… (+N more words)" after the cap: no box
            draw.text((left + _PAD_X, top + _PAD_Y), text, font=word_font, fill=_MUTED)
            continue
        right = left + math.ceil(text_w) + 2 * _PAD_X - 1
        if signed:
            idx = min(255, max(0, round((weight + 1) / 2 * 255)))
            fill, dark = assets.signed_lut[idx], assets.signed_dark[idx]
        else:
            idx = min(255, max(0, round(weight * 255)))
            fill, dark = assets.lut[idx], assets.lut_dark[idx]
        draw.rounded_rectangle(
            (left, top, right, top + box_h - 1),
            radius=4,
            fill=fill,
            outline=_OUTLINE if signed else None,
        )
        ink = _WHITE if dark else _INK
        draw.text((left + _PAD_X, top + _PAD_Y), text, font=word_font, fill=ink)

    _legend(draw, image, bar_y, explanation, signed)
    return png(image)


def _legend(
    draw: ImageDraw.ImageDraw,
    image: Image.Image,
    bar_y: int,
    explanation: Explanation,
    signed: bool,
) -> None:
    """The colour bar, its end labels and the legend line to its right."""
    assets = load_assets()
    legend_font = font_for("regular", _LEGEND_SIZE)
    lut = assets.signed_lut if signed else assets.lut
    gradient = np.asarray(lut, dtype=np.uint8)[np.linspace(0, 255, _BAR_W).round().astype(np.intp)]
    bar = Image.fromarray(np.repeat(gradient[np.newaxis, :, :], _BAR_H, axis=0), "RGB")
    image.paste(bar, (_MARGIN, bar_y))
    draw.rectangle((_MARGIN - 1, bar_y - 1, _MARGIN + _BAR_W, bar_y + _BAR_H), outline=_OUTLINE)
    label_y = bar_y + _BAR_H + 4
    low, high = ("against", "for") if signed else ("low", "high")
    draw.text((_MARGIN, label_y), low, font=legend_font, fill=_MUTED)
    high_w = legend_font.getlength(high)
    draw.text((_MARGIN + _BAR_W - high_w, label_y), high, font=legend_font, fill=_MUTED)
    if signed:
        mid_w = legend_font.getlength("neither")
        draw.text(
            (_MARGIN + (_BAR_W - mid_w) / 2, label_y), "neither", font=legend_font, fill=_MUTED
        )
        label = clean_word(explanation.prediction.label, assets.charset, 40)
        if explanation.versus is None:
            text = SIGNED_LEGEND.format(label=label)
        else:
            versus = clean_word(explanation.versus, assets.charset, 40)
            text = CONTRASTIVE_LEGEND.format(label=label, versus=versus)
    else:
        text = LEGEND
    room = _WIDTH - 2 * _MARGIN - _BAR_W - 16
    draw.text(
        (_MARGIN + _BAR_W + 16, bar_y + (_BAR_H - _LEGEND_SIZE) // 2 - 1),
        fit(text, legend_font, room),
        font=legend_font,
        fill=_MUTED,
    )


# --------------------------------------------------------------------------------------------
# render_layers


def _layer_matrix(layer_weights: Sequence[Sequence[float]], n_words: int) -> np.ndarray:
    """(layers, ``n_words``) float array; missing or non-finite cells are NaN."""
    matrix = np.full((len(layer_weights), n_words), np.nan, dtype=float)
    for i, row in enumerate(layer_weights):
        vals = list(row)[:n_words]
        for j, v in enumerate(vals):
            try:
                f = float(v)
            except (TypeError, ValueError):
                continue
            if math.isfinite(f):
                matrix[i, j] = f
    return matrix


def _tick_label(word: object, charset: frozenset[int]) -> str:
    # "$" would switch matplotlib into mathtext (and can raise on odd input): escape it.
    return (clean_word(word, charset, 16) or MISSING_GLYPH).replace("$", r"\$")


def render_layers(explanation: Explanation) -> bytes:
    """PNG bytes of the words-by-layers heatmap of ``explanation.layer_weights``.

    Rows are layers (layer 1, nearest the input, at the top), columns the first
    :data:`MAX_LAYER_WORDS` words. An explanation without per-layer weights (e.g. the
    gradient method) gives a small figure that says so. Writes no files; safe to call from
    several threads (the matplotlib drawing is serialised by a lock).
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    assets = load_assets()
    words = list(explanation.words)
    n_total = len(words)
    words = words[:MAX_LAYER_WORDS]
    layer_rows = [list(r) for r in (explanation.layer_weights or [])]
    n_layers = len(layer_rows)
    n_words = max(len(words), max((len(r) for r in layer_rows), default=0))
    n_words = min(n_words, MAX_LAYER_WORDS)
    title = clean_word(title_line(explanation, 40), assets.charset, 200).replace("$", r"\$")
    if n_total > MAX_LAYER_WORDS:
        title += f"  (first {MAX_LAYER_WORDS} of {n_total} words)"

    with _mpl_lock:
        if n_layers == 0 or n_words == 0:
            fig = Figure(figsize=(6.4, 1.6), dpi=100, facecolor="white")
            FigureCanvasAgg(fig)
            fig.text(0.5, 0.62, title, ha="center", va="center", fontsize=12, weight="bold")
            fig.text(
                0.5,
                0.3,
                "no per-layer attention for this explanation",
                ha="center",
                va="center",
                fontsize=10,
                color="#666666",
            )
        else:
            matrix = _layer_matrix(layer_rows, n_words)
            labels = [_tick_label(w, assets.charset) for w in words]
            labels += [""] * (n_words - len(labels))
            # Fixed geometry in inches (no layout engine: one draw, predictable size).
            longest = max((len(t) for t in labels), default=1)
            left, right_gap, bar_w, bar_space, right = 0.85, 0.15, 0.16, 0.85, 0.1
            top = 0.5
            bottom = 0.3 + min(16, longest) * 0.065
            plot_w = max(4.4, 0.22 * n_words)
            plot_h = max(2.0, 0.28 * n_layers)
            width = left + plot_w + right_gap + bar_w + bar_space + right
            height = bottom + plot_h + top
            fig = Figure(figsize=(width, height), dpi=100, facecolor="white")
            FigureCanvasAgg(fig)
            ax = fig.add_axes((left / width, bottom / height, plot_w / width, plot_h / height))
            cax = fig.add_axes(
                (
                    (left + plot_w + right_gap) / width,
                    bottom / height,
                    bar_w / width,
                    plot_h / height,
                )
            )
            finite = matrix[np.isfinite(matrix)]
            vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
            cmap = matplotlib.colormaps[LAYERS_CMAP_NAME].with_extremes(bad="#dddddd")
            image = ax.imshow(
                np.ma.masked_invalid(matrix),
                aspect="auto",
                cmap=cmap,
                vmin=0.0,
                vmax=vmax,
                interpolation="nearest",
            )
            ax.set_xticks(range(n_words), labels, rotation=60, ha="right", fontsize=9)
            ax.set_yticks(range(n_layers), [f"layer {i + 1}" for i in range(n_layers)])
            ax.tick_params(axis="y", labelsize=9)
            ax.tick_params(length=0)
            ax.set_title(title, fontsize=12, weight="bold", loc="left", pad=10)
            bar = fig.colorbar(image, cax=cax)
            bar.set_label("[CLS] attention on word", fontsize=9)
            bar.ax.tick_params(labelsize=8)
        buf = io.BytesIO()
        fig.savefig(
            buf,
            format="png",
            facecolor="white",
            metadata={"Software": None},
            pil_kwargs={"compress_level": PNG_COMPRESS},
        )
    return buf.getvalue()
