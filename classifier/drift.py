"""Drift: how far the predictions of the last days moved from the ones a version was judged on.

A version stores, at training, the distribution of its predictions on the held-out rows
(:func:`reference`): the share of each predicted label and a histogram of the calibrated
confidence of the top label (:data:`CONFIDENCE_BINS` equal-width bins on [0, 1]). The bot
compares the same two distributions over recent traffic with the population stability index
(:func:`psi`), and calls it drift (:func:`drifted`) only when the index is past both an effect
size (``floor``) and what sampling noise alone gives with this many messages (:func:`noise`),
so a quiet channel does not raise alarms that a busy one would not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE_BINS = 10
WINDOW_DAYS = 7
"""The days of traffic a check compares with the reference."""
EPSILON = 1e-4
"""Shares are floored at this before the logarithm: an empty bin is rare, not impossible."""
NOISE_QUANTILE = 0.9999
"""How sure :func:`noise` is that sampling alone stays below it: one check a day of two indices
is 730 a year, so about one false exceedance in 14 years."""


def confidence_bin(confidence: float, bins: int = CONFIDENCE_BINS) -> int:
    """The histogram bin of a confidence in [0, 1] (values outside are clamped)."""
    return min(max(int(confidence * bins), 0), bins - 1)


def label_shares(predicted: Sequence[str], labels: Sequence[str]) -> list[float]:
    """Each of ``labels``' share of ``predicted`` (in ``labels``' order; all 0 when empty)."""
    counts = Counter(predicted)
    total = len(predicted)
    return [counts[label] / total if total else 0.0 for label in labels]


def confidence_shares(confidences: Sequence[float], bins: int = CONFIDENCE_BINS) -> list[float]:
    """The share of ``confidences`` in each of ``bins`` equal-width bins on [0, 1]."""
    counts = Counter(confidence_bin(c, bins) for c in confidences)
    total = len(confidences)
    return [counts[i] / total if total else 0.0 for i in range(bins)]


def reference(
    predicted: Sequence[str], confidences: Sequence[float], labels: Sequence[str]
) -> dict:
    """``heed.json``'s ``drift_reference``: the rows, each label's share of the predictions and
    the confidence histogram of the held-out rows."""
    shares = label_shares(predicted, labels)
    return {
        "rows": len(predicted),
        "labels": dict(zip(labels, shares, strict=True)),
        "confidence": confidence_shares(confidences),
    }


def psi(
    expected: Sequence[float],
    actual: Sequence[float],
    expected_rows: int | None = None,
    actual_rows: int | None = None,
) -> float:
    """Population stability index ``sum((a - e) * ln(a / e))`` of two distributions over the
    same bins; 0 for identical ones, symmetric. With the rows each was measured on, every
    bin gets half a row more (Jeffreys' prior), so a bin one sample never saw is "rare", not
    "impossible"; without them, shares are floored at :data:`EPSILON`."""
    if len(expected) != len(actual):
        raise ValueError(f"{len(expected)} expected bins against {len(actual)} actual ones")
    expected = _smoothed(expected, expected_rows)
    actual = _smoothed(actual, actual_rows)
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, EPSILON), max(a, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def _smoothed(shares: Sequence[float], rows: int | None) -> list[float]:
    if not rows:
        return list(shares)
    prior = 0.5
    return [(share * rows + prior) / (rows + prior * len(shares)) for share in shares]


def noise(bins: int, rows: int, reference_rows: int, quantile: float = NOISE_QUANTILE) -> float:
    """The PSI that sampling alone stays under with probability ``quantile``, for ``rows``
    recent predictions against a reference of ``reference_rows``: ``n·PSI`` tends to a
    chi-square with ``bins - 1`` degrees of freedom (both samples count, hence
    ``1/rows + 1/reference_rows``); its quantile by the Wilson-Hilferty approximation."""
    if rows <= 0 or reference_rows <= 0:
        return math.inf
    k = max(bins - 1, 1)
    z = NormalDist().inv_cdf(quantile)
    chi2 = k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3
    return chi2 * (1 / rows + 1 / reference_rows)


def drifted(value: float, bins: int, rows: int, reference_rows: int, floor: float) -> bool:
    """Past the effect size ``floor`` and past sampling noise (:func:`noise`)."""
    return value >= floor and value > noise(bins, rows, reference_rows)


@dataclass(frozen=True)
class DriftReading:
    """One task's check: both indices, the rows behind them and whether that is drift."""

    task: str
    version: str
    rows: int
    reference_rows: int
    labels_psi: float
    confidence_psi: float
    floor: float
    drifted: bool
    shares: dict[str, tuple[float, float]]
    """Each label's share at training and in the window."""
    window_days: int = WINDOW_DAYS
