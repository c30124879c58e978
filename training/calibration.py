"""Temperature scaling: one number T that makes a version's confidences mean what they say.

A fine-tuned encoder is usually over-confident: of the texts it labels with 95 %, fewer than
95 % are right. Dividing every logit by one fitted T > 0 (Guo et al. 2017, "On Calibration of
Modern Neural Networks") fixes much of that and never changes the predicted label (argmax of
``logits / T`` is argmax of ``logits``). :func:`fit_temperature` fits T on held-out logits by
minimising the negative log-likelihood over ``log T`` (a bounded 1-D search, so T stays in
:data:`T_BOUNDS`); :func:`expected_calibration_error` measures the gap (15 equal-width bins);
:func:`reliability_png` draws accuracy against confidence before and after.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

ECE_BINS = 15
# At least this many held-out rows, of at least two labels, to fit T on; fewer is noise.
MIN_ROWS = 10
T_BOUNDS = (0.05, 20.0)
_SEARCH_STEPS = 60


class CalibrationSkipped(ValueError):
    """Too few (or too uniform) held-out rows to fit a temperature; the message says why."""


def _as_tensors(logits: object, gold: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    values = torch.as_tensor(logits, dtype=torch.float64)
    targets = torch.as_tensor(list(gold), dtype=torch.long)
    if values.ndim != 2 or values.shape[0] != targets.shape[0]:
        raise ValueError(
            f"logits must be rows x classes with one gold label per row, got "
            f"{tuple(values.shape)} logits and {targets.shape[0]} labels"
        )
    if values.shape[0] and (targets.min() < 0 or targets.max() >= values.shape[1]):
        raise ValueError(f"gold labels must be class indices below {values.shape[1]}")
    if not torch.isfinite(values).all():
        raise ValueError("logits must be finite")
    return values, targets


def unfit_reason(logits: object, gold: Sequence[int]) -> str | None:
    """Why no temperature can be fitted on these rows (None when one can): fewer than
    :data:`MIN_ROWS` rows, rows of one label only, or no row predicted wrong."""
    values, targets = _as_tensors(logits, gold)
    if values.shape[0] < MIN_ROWS:
        return f"{values.shape[0]} held-out rows (at least {MIN_ROWS} needed)"
    if targets.unique().numel() < 2:
        return "the held-out rows have one label only"
    if bool((values.argmax(dim=-1) == targets).all()):
        # With no error to weigh, the NLL only falls as T shrinks: the fit would run to its
        # bound and make every confidence ~100 %.
        return "every held-out row is predicted right (nothing to fit on)"
    return None


def nll(logits: object, gold: Sequence[int], temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``gold`` under ``softmax(logits / temperature)``."""
    values, targets = _as_tensors(logits, gold)
    if not values.shape[0]:
        return 0.0
    return float(torch.nn.functional.cross_entropy(values / temperature, targets))


def fit_temperature(logits: object, gold: Sequence[int]) -> float:
    """The T in :data:`T_BOUNDS` minimising the NLL of ``gold`` under ``softmax(logits / T)``.

    ``logits``: rows x classes (uncalibrated), ``gold``: each row's class index. A golden-section
    search over ``log T`` (the NLL is convex in ``1 / T``, so unimodal there). Raises
    :class:`CalibrationSkipped` when :func:`unfit_reason` says the rows cannot support a fit.
    """
    reason = unfit_reason(logits, gold)
    if reason:
        raise CalibrationSkipped(reason)
    values, targets = _as_tensors(logits, gold)

    def loss(log_t: float) -> float:
        return float(torch.nn.functional.cross_entropy(values / math.exp(log_t), targets))

    low, high = math.log(T_BOUNDS[0]), math.log(T_BOUNDS[1])
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    for _ in range(_SEARCH_STEPS):
        if loss_a <= loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - ratio * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + ratio * (high - low)
            loss_b = loss(b)
    return round(math.exp((low + high) / 2), 4)


def confidences(logits: object, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's top probability under ``softmax(logits / temperature)`` and its class."""
    values = torch.as_tensor(logits, dtype=torch.float64)
    top, predicted = (values / temperature).softmax(dim=-1).max(dim=-1)
    return top, predicted


def reliability_bins(
    logits: object, gold: Sequence[int], temperature: float = 1.0, bins: int = ECE_BINS
) -> list[dict]:
    """Per equal-width confidence bin ``(lo, hi]``: ``rows``, mean ``confidence`` and
    ``accuracy`` of the rows whose top probability falls in it (the first bin includes 0)."""
    values, targets = _as_tensors(logits, gold)
    top, predicted = confidences(values, temperature)
    return binned(top, predicted == targets, bins)


def binned(top: torch.Tensor, correct: torch.Tensor, bins: int = ECE_BINS) -> list[dict]:
    """:func:`reliability_bins` from each row's top probability and whether it was right."""
    top, right = top.double(), correct.double()
    index = (torch.ceil(top * bins).long() - 1).clamp(0, bins - 1)
    out = []
    for b in range(bins):
        members = index == b
        n = int(members.sum())
        out.append(
            {
                "lo": b / bins,
                "hi": (b + 1) / bins,
                "rows": n,
                "confidence": float(top[members].mean()) if n else None,
                "accuracy": float(right[members].mean()) if n else None,
            }
        )
    return out


def ece_of(table: Sequence[dict]) -> float:
    """The row-weighted mean gap between accuracy and confidence over a :func:`binned` table
    (0 for no rows)."""
    total = sum(b["rows"] for b in table)
    if not total:
        return 0.0
    return sum(b["rows"] * abs(b["accuracy"] - b["confidence"]) for b in table if b["rows"]) / total


def expected_calibration_error(
    logits: object, gold: Sequence[int], temperature: float = 1.0, bins: int = ECE_BINS
) -> float:
    """ECE: the row-weighted mean gap between accuracy and mean confidence over ``bins``
    equal-width confidence bins (0 for no rows)."""
    return ece_of(reliability_bins(logits, gold, temperature, bins))


def calibration_report(logits: object, gold: Sequence[int]) -> dict:
    """Fit T on these rows and measure them before and after: ``temperature``, ``calibrated``,
    ``reason`` (why not, when not), ``rows``, ``bins``, ``ece_before``/``ece_after`` and
    ``nll_before``/``nll_after``. Unfittable rows give T = 1 and ``calibrated: false``."""
    values, targets = _as_tensors(logits, gold)
    reason = unfit_reason(values, targets.tolist())
    temperature = 1.0 if reason else fit_temperature(values, targets.tolist())
    rows = int(values.shape[0])
    before = expected_calibration_error(values, targets.tolist()) if rows else None
    after = expected_calibration_error(values, targets.tolist(), temperature) if rows else None
    return {
        "temperature": temperature,
        "calibrated": reason is None,
        "reason": reason,
        "rows": rows,
        "bins": ECE_BINS,
        "ece_before": before,
        "ece_after": after,
        "nll_before": nll(values, targets.tolist()) if rows else None,
        "nll_after": nll(values, targets.tolist(), temperature) if rows else None,
    }


def reliability_png(logits: object, gold: Sequence[int], temperature: float, title: str) -> bytes:
    """A reliability diagram as PNG: accuracy per confidence bin before (T = 1) and after
    (``temperature``), against the diagonal of perfect calibration, ECE in the legend."""
    figure = Figure(figsize=(5.5, 5.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    for t, name, colour in ((1.0, "before", "tab:red"), (temperature, "after", "tab:blue")):
        table = [b for b in reliability_bins(logits, gold, t) if b["rows"]]
        ece = expected_calibration_error(logits, gold, t)
        axes.plot(
            [b["confidence"] for b in table],
            [b["accuracy"] for b in table],
            marker="o",
            color=colour,
            label=f"{name} (T={t:.2f}): ECE {ece:.3f}",
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel(f"confidence (mean per bin, {ECE_BINS} bins)")
    axes.set_ylabel("accuracy")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
