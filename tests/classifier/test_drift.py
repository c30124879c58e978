"""Drift arithmetic: shares, histograms, PSI, and the noise a sample of n alone gives."""

from __future__ import annotations

import math
import random

import pytest

from classifier.drift import (
    confidence_bin,
    confidence_shares,
    drifted,
    label_shares,
    noise,
    psi,
    reference,
)

LABELS = ["negative", "neutral", "positive"]


def test_shares_and_bins() -> None:
    assert label_shares(["positive", "positive", "neutral", "other"], LABELS) == [0, 0.25, 0.5]
    assert label_shares([], LABELS) == [0.0, 0.0, 0.0]
    assert [confidence_bin(c) for c in (0.0, 0.05, 0.34, 0.999, 1.0, 1.7, -1)] == [
        0,
        0,
        3,
        9,
        9,
        9,
        0,
    ]
    shares = confidence_shares([0.95, 0.97, 0.5, 0.35])
    assert shares[9] == 0.5 and shares[5] == 0.25 and shares[3] == 0.25 and sum(shares) == 1
    ref = reference(["positive", "negative"], [0.9, 0.6], LABELS)
    assert ref == {
        "rows": 2,
        "labels": {"negative": 0.5, "neutral": 0.0, "positive": 0.5},
        "confidence": [0, 0, 0, 0, 0, 0, 0.5, 0, 0, 0.5],
    }


def test_psi_is_zero_for_equal_symmetric_and_matches_the_formula() -> None:
    e, a = [0.46, 0.21, 0.33], [0.36, 0.31, 0.33]
    assert psi(e, e) == 0
    assert psi(e, a) == pytest.approx(psi(a, e))
    want = -0.1 * math.log(0.36 / 0.46) + 0.1 * math.log(0.31 / 0.21)
    assert psi(e, a) == pytest.approx(want)
    assert math.isfinite(psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]))  # empty bins are floored
    # With the rows known, an empty bin gets half a row: a bin 740 reference rows never saw,
    # hit by 2 of 200 recent ones, is a small surprise, not a floored 1e-4.
    floored = psi([0.5, 0.5, 0.0], [0.495, 0.495, 0.01])
    smoothed = psi([0.5, 0.5, 0.0], [0.495, 0.495, 0.01], 740, 200)
    assert smoothed < floored * 0.8
    with pytest.raises(ValueError, match="3 expected bins against 2"):
        psi(e, [0.5, 0.5])


def test_noise_shrinks_with_more_rows_and_holds_under_the_null() -> None:
    assert noise(10, 100, 700) > noise(10, 1000, 700) > noise(10, 10_000, 700)
    assert noise(3, 0, 700) == math.inf
    # Sampling 300 predictions from the reference itself: the index stays under the noise.
    rng = random.Random(0)
    ref = [0.46, 0.21, 0.33]
    over = 0
    for _ in range(500):
        sample = rng.choices(LABELS, weights=ref, k=300)
        over += psi(ref, label_shares(sample, LABELS), 10**9, 300) > noise(3, 300, 10**9)
    assert over <= 1  # the 99.99 % quantile: about 0.05 expected in 500


def test_drifted_needs_both_the_effect_and_the_evidence() -> None:
    big = psi([0.46, 0.21, 0.33], [0.16, 0.51, 0.33])
    assert drifted(big, 3, 1000, 700, floor=0.1)
    assert not drifted(big, 3, 5, 700, floor=0.1)  # five messages prove nothing
    assert not drifted(0.05, 3, 100_000, 100_000, floor=0.1)  # real, but below the floor
