"""Temperature fit, ECE and the reliability diagram on synthetic logits."""

from __future__ import annotations

import pytest
import torch

from training.calibration import (
    ECE_BINS,
    CalibrationSkipped,
    calibration_report,
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability_bins,
    reliability_png,
    unfit_reason,
)


def sampled(true_t: float, rows: int = 4000, classes: int = 4, seed: int = 0):
    """Logits whose labels are drawn from ``softmax(logits / true_t)``: T = true_t is the
    calibrated temperature, so a model reporting ``softmax(logits)`` is over-confident when
    ``true_t`` > 1."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, classes, generator=generator, dtype=torch.float64) * 4
    gold = torch.multinomial((logits / true_t).softmax(-1), 1, generator=generator).squeeze(1)
    return logits, gold.tolist()


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_the_fit_recovers_the_temperature_the_labels_were_drawn_with(true_t: float) -> None:
    logits, gold = sampled(true_t)
    assert fit_temperature(logits, gold) == pytest.approx(true_t, rel=0.1)


def test_calibrating_over_confident_logits_lowers_ece_and_nll_and_keeps_every_label() -> None:
    logits, gold = sampled(3.0)
    report = calibration_report(logits, gold)
    t = report["temperature"]
    assert report["calibrated"] and report["reason"] is None and t > 2
    assert report["ece_after"] < report["ece_before"] / 3
    assert report["nll_after"] < report["nll_before"]
    assert torch.equal((logits / t).argmax(-1), logits.argmax(-1))
    assert report["rows"] == 4000 and report["bins"] == ECE_BINS


def test_the_fitted_temperature_minimises_the_nll() -> None:
    logits, gold = sampled(2.0, seed=3)
    t = fit_temperature(logits, gold)
    assert nll(logits, gold, t) <= min(nll(logits, gold, t * 0.9), nll(logits, gold, t * 1.1))


@pytest.mark.parametrize(
    ("logits", "gold", "why"),
    [
        ([], [], "0 held-out rows"),
        ([[2.0, 0.0]] * 5 + [[0.0, 2.0]] * 4, [0] * 5 + [0] * 4, "9 held-out rows"),
        ([[2.0, 0.0]] * 6 + [[0.0, 2.0]] * 6, [0] * 12, "one label only"),
        ([[2.0, 0.0]] * 6 + [[0.0, 2.0]] * 6, [0] * 6 + [1] * 6, "predicted right"),
    ],
)
def test_too_few_or_uniform_rows_are_not_fitted(logits, gold, why: str) -> None:
    values = torch.tensor(logits).reshape(len(logits), 2)
    assert why in unfit_reason(values, gold)
    with pytest.raises(CalibrationSkipped, match=why):
        fit_temperature(values, gold)
    report = calibration_report(values, gold)
    assert report["temperature"] == 1.0 and not report["calibrated"]
    assert why in report["reason"]
    assert report["ece_after"] == report["ece_before"]


@pytest.mark.parametrize(
    ("logits", "gold", "message"),
    [
        ([[1.0, 2.0]], [0, 1], "one gold label per row"),
        ([[1.0, 2.0]], [2], "class indices below 2"),
        ([[float("nan"), 2.0]], [0], "finite"),
    ],
)
def test_malformed_input_is_refused(logits, gold, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        unfit_reason(logits, gold)


def test_ece_by_hand() -> None:
    # Two classes; top probabilities 0.9, 0.9, 0.6, 0.6 (bins (13/15, 14/15] and (8/15, 9/15]).
    p_high, p_low = torch.logit(torch.tensor(0.9)), torch.logit(torch.tensor(0.6))
    logits = torch.tensor([[p_high, 0], [p_high, 0], [p_low, 0], [p_low, 0]])
    gold = [0, 1, 0, 0]  # high bin: 1/2 right (gap 0.4); low bin: 2/2 right (gap 0.4)
    assert expected_calibration_error(logits, gold) == pytest.approx(0.4, abs=1e-6)
    table = reliability_bins(logits, gold)
    filled = [(b["rows"], b["accuracy"]) for b in table if b["rows"]]
    assert filled == [(2, 1.0), (2, 0.5)] and len(table) == ECE_BINS
    assert expected_calibration_error(torch.empty(0, 2), []) == 0.0


def test_the_reliability_diagram_is_a_png() -> None:
    logits, gold = sampled(2.0, rows=300)
    png = reliability_png(logits, gold, 2.0, title="v1 · held-out rows")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
