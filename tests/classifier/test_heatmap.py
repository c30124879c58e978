"""Unit tests for classifier.heatmap: PNG output of hand-built explanations (no model)."""

from __future__ import annotations

import io
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from classifier import glyphs, heatmap
from classifier.types import Explanation, Prediction

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

TEXT = (
    "the delivery was late again and the support agent never answered my emails so "
    "this is honestly the worst service I have had from any shop"
)
SENTENCE = TEXT.split()


def make(
    n_words: int = 40,
    *,
    truncated: bool = False,
    n_layers: int = 12,
    words: list[str] | None = None,
    method: str = "attention",
    seed: int = 0,
) -> Explanation:
    rng = random.Random(seed)
    if words is None:
        words = [SENTENCE[i % len(SENTENCE)] for i in range(n_words)]
    raw = [rng.random() ** 3 for _ in words]
    total = sum(raw) or 1.0
    layers = []
    for _ in range(n_layers):
        row = [rng.random() for _ in words]
        row_total = sum(row) or 1.0
        layers.append([v / row_total for v in row])
    prediction = Prediction(
        label="negative",
        confidence=0.87,
        scores={"negative": 0.87, "neutral": 0.1, "positive": 0.03},
        model="20250101-000000-abc123",
        truncated=truncated,
    )
    return Explanation(
        method=method,
        words=list(words),
        weights=[v / total for v in raw],
        prediction=prediction,
        layer_weights=layers,
        truncated=truncated,
    )


def decode(data: bytes) -> Image.Image:
    assert isinstance(data, bytes)
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image


def test_render_is_a_sane_png():
    image = decode(heatmap.render(make(40)))
    assert 900 <= image.width <= 1000
    assert 100 <= image.height <= 600


def box_centres(image: Image.Image, colour: tuple[int, int, int]) -> tuple[int, float, float]:
    """How many pixels have ``colour``, and their median x and y.

    The colour bar holds every colour too, but only in a sliver a pixel or two wide: a word's
    box has hundreds of pixels of its colour, so the median lands in the box.
    """
    pixels = np.asarray(image.convert("RGB"))
    ys, xs = np.nonzero(np.all(pixels == np.asarray(colour, dtype=np.uint8), axis=-1))
    if not len(xs):
        return 0, float("nan"), float("nan")
    return len(xs), float(np.median(xs)), float(np.median(ys))


def test_each_word_box_is_shaded_by_its_own_weight():
    exp = make(words=["fine", "terrible", "service"])
    exp = Explanation("attention", exp.words, [0.1, 0.7, 0.2], exp.prediction)
    image = decode(heatmap.render(exp))
    lut = glyphs.load_assets().lut
    # Weights are scaled so the largest is 1: "terrible" gets the darkest entry.
    shades = {"fine": lut[round(0.1 / 0.7 * 255)], "terrible": lut[255]}
    shades["service"] = lut[round(0.2 / 0.7 * 255)]
    found = {word: box_centres(image, rgb) for word, rgb in shades.items()}
    for word, (count, _, _) in found.items():
        assert count > 200, f"no box shaded for {word!r}"
    xs = [found[word][1] for word in ("fine", "terrible", "service")]
    assert xs == sorted(xs)  # the boxes in reading order, each in its own shade
    ys = [found[word][2] for word in found]
    assert max(ys) - min(ys) <= 3  # one line of words (glyphs move the median a pixel)


def test_signed_words_are_shaded_toward_in_orange_and_away_in_purple():
    exp = make(words=["fine", "terrible", "service"])
    signed = [-0.5, 0.4, 0.1]  # "fine" argued against "negative", "terrible" for it
    exp = Explanation("attn-grad", exp.words, [0.0, 0.8, 0.2], exp.prediction, [], False, signed)
    image = decode(heatmap.render(exp))
    lut = glyphs.load_assets().signed_lut
    # Scaled so the largest magnitude is 1: "fine" is -1 (index 0), "terrible" +0.8.
    shades = {
        "fine": lut[0],
        "terrible": lut[round((0.8 + 1) / 2 * 255)],
        "service": lut[round((0.2 + 1) / 2 * 255)],
    }
    found = {word: box_centres(image, rgb) for word, rgb in shades.items()}
    for word, (count, _, _) in found.items():
        assert count > 200, f"no box shaded for {word!r}"
    assert [found[w][1] for w in ("fine", "terrible", "service")] == sorted(
        found[w][1] for w in found
    )
    red, _, blue = shades["fine"]
    assert blue > red  # against: the purple hue
    red, _, blue = shades["terrible"]
    assert red > blue  # for: the orange hue
    assert shades["service"] != shades["terrible"]  # weaker evidence, lighter shade


def test_signed_legend_differs_from_the_one_hue_legend():
    words = ["fine", "terrible", "service"]
    base = make(words=words)
    one_hue = Explanation("attention", words, [0.2, 0.6, 0.2], base.prediction)
    signed = Explanation(
        "attn-grad", words, [0.0, 0.75, 0.25], base.prediction, [], False, [-0.2, 0.6, 0.2]
    )
    purple = glyphs.load_assets().signed_lut[0]
    assert box_centres(decode(heatmap.render(signed)), purple)[0] > 0  # the bar's purple end
    assert box_centres(decode(heatmap.render(one_hue)), purple)[0] == 0


def test_contrastive_map_names_both_labels():
    words = ["fine", "terrible", "service"]
    base = make(words=words)
    signed = Explanation(
        "attn-grad", words, [0.0, 0.75, 0.25], base.prediction, [], False, [-0.2, 0.6, 0.2]
    )
    contrastive = Explanation(
        "attn-grad",
        words,
        [0.0, 0.75, 0.25],
        base.prediction,
        [],
        False,
        [-0.2, 0.6, 0.2],
        versus="neutral",
    )
    assert glyphs.title_line(contrastive) == "negative, not neutral · 87% · attn-grad"
    assert glyphs.title_line(signed) == "negative · 87% · attn-grad"
    assert heatmap.render(contrastive) != heatmap.render(signed)  # title and legend differ


def test_truncated_flag_adds_the_note():
    plain = decode(heatmap.render(make(40, truncated=False)))
    truncated = decode(heatmap.render(make(40, truncated=True)))
    assert truncated.height > plain.height
    assert truncated.width == plain.width


def test_long_text_is_capped():
    capped = decode(heatmap.render(make(1_000)))
    huge = decode(heatmap.render(make(10_000)))
    assert capped.width == huge.width
    assert abs(capped.height - huge.height) <= 40  # at most the "+N more words" line moves
    assert huge.height < 1500
    at_cap = decode(heatmap.render(make(heatmap.MAX_WORDS)))
    assert huge.height >= at_cap.height


@pytest.mark.parametrize("words", [[], [""], [" "], ["\x00\x07"]])
def test_empty_words(words):
    exp = make(words=words)
    assert decode(heatmap.render(exp)).width > 0
    assert decode(heatmap.render_layers(exp)).width > 0


def test_unicode_emoji_and_odd_input_do_not_crash():
    words = [
        "café", "naïve", "مرحبا", "你好", "👍🏽", "👨‍👩‍👧", "🤷‍♀️", "e\u0301", "\u200b",
        "$5-$10", "$x$", "\\$", "a_b^c", "x" * 5_000,
    ]  # fmt: skip
    exp = make(words=words, truncated=True)
    decode(heatmap.render(exp))
    decode(heatmap.render_layers(exp))


def test_bad_weights_do_not_crash():
    base = make(3)
    odd = Explanation(
        method="gradient",
        words=["a", "b", "c"],
        weights=[float("nan"), -1.0, float("inf"), 0.5],  # one too many, non-finite, negative
        prediction=base.prediction,
        layer_weights=[[0.1, float("nan")], [0.2, 0.3, 0.4, 0.5]],  # ragged
    )
    decode(heatmap.render(odd))
    decode(heatmap.render_layers(odd))
    zeros = Explanation("attention", ["a", "b"], [0.0, 0.0], base.prediction)
    decode(heatmap.render(zeros))


def test_long_label_and_odd_confidence():
    base = make(5)
    pred = Prediction("x" * 500, float("nan"), {}, "m")
    exp = Explanation(base.method, base.words, base.weights, pred, base.layer_weights)
    assert decode(heatmap.render(exp)).width == decode(heatmap.render(base)).width
    decode(heatmap.render_layers(exp))


def test_render_layers_shape():
    wide = decode(heatmap.render_layers(make(40, n_layers=12)))
    assert wide.width > wide.height
    narrow = decode(heatmap.render_layers(make(10, n_layers=12)))
    assert narrow.width < wide.width
    taller = decode(heatmap.render_layers(make(40, n_layers=24)))
    assert taller.height > wide.height
    assert taller.width == wide.width
    at_cap = decode(heatmap.render_layers(make(heatmap.MAX_LAYER_WORDS)))
    over_cap = decode(heatmap.render_layers(make(200)))
    assert over_cap.width == at_cap.width


def test_render_layers_without_layer_weights():
    exp = make(10, n_layers=0, method="gradient")
    assert exp.layer_weights == []
    image = decode(heatmap.render_layers(exp))
    assert image.width > 0 and image.height > 0


def test_no_files_written_and_no_pyplot_figures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = make(40, truncated=True)
    heatmap.render(exp)
    heatmap.render_layers(exp)
    heatmap.render_layers(make(0, n_layers=0))
    assert list(tmp_path.iterdir()) == []
    plt = pytest.importorskip("matplotlib.pyplot")
    assert plt.get_fignums() == []


def test_deterministic():
    exp = make(40, truncated=True)
    assert heatmap.render(exp) == heatmap.render(exp)
    assert heatmap.render_layers(exp) == heatmap.render_layers(exp)
    assert heatmap.render(exp) != heatmap.render(make(40, seed=1))


def test_concurrent_renders_from_8_threads():
    inputs = [make(5 + 7 * i, truncated=i % 2 == 0, seed=i) for i in range(16)]
    expected_words = [heatmap.render(e) for e in inputs]
    expected_layers = [heatmap.render_layers(e) for e in inputs[:2]]

    def job(i: int) -> tuple[int, bytes, bytes | None]:
        layers = heatmap.render_layers(inputs[i]) if i < 2 else None
        return i, heatmap.render(inputs[i]), layers

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(job, list(range(16)) * 3))

    for i, png, layers in results:
        decode(png)
        assert png == expected_words[i]
        if layers is not None:
            decode(layers)
            assert layers == expected_layers[i]
