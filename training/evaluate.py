"""Metrics for a classifier on labelled rows: accuracy, macro-F1, per class, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from classifier import Classifier
from classifier.exports import Example
from classifier.temperature import calibrated
from training.calibration import ECE_BINS, binned, ece_of


def score(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """The evaluation report: ``accuracy``, ``macro_f1``, ``per_class``, ``confusion_matrix``.

    ``labels`` orders the per-class entries and the matrix (rows = true, columns = predicted);
    labels seen in ``gold`` or ``predicted`` but missing from ``labels`` are appended.
    """
    order = list(labels) + sorted((set(gold) | set(predicted)) - set(labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=order, zero_division=0
    )
    present = [label for label in order if label in set(gold)]
    return {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(
            f1_score(gold, predicted, labels=present, average="macro", zero_division=0)
        ),
        "per_class": {
            label: {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for label, p, r, f, s in zip(order, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": confusion_matrix(gold, predicted, labels=order).tolist(),
        "labels": order,
        "n": len(gold),
    }


def evaluate(classifier: Classifier, examples: Sequence[Example]) -> dict:
    """Predict ``examples`` with ``classifier`` and score the predictions; ``calibration``
    adds the expected calibration error (15 bins) of its confidences with the version's
    temperature (``ece``) and without (``ece_uncalibrated``). A row whose label the model does
    not know counts as wrong."""
    logits = classifier.logits([e.text for e in examples])
    gold = [e.label for e in examples]
    predicted = [classifier.labels[i] for i in logits.argmax(dim=-1).tolist()]
    report = score(gold, predicted, classifier.labels)
    correct = torch.tensor([g == p for g, p in zip(gold, predicted, strict=True)])
    report["calibration"] = {
        "temperature": classifier.temperature,
        "bins": ECE_BINS,
        "ece": ece_of(binned(calibrated(logits, classifier.temperature).amax(-1), correct)),
        "ece_uncalibrated": ece_of(binned(calibrated(logits, 1.0).amax(-1), correct)),
    }
    return report


def confusion_matrix_png(report: dict, title: str = "") -> bytes:
    """Draw the report's confusion matrix (rows = true label, columns = predicted) as PNG."""
    import io

    labels, matrix = report["labels"], report["confusion_matrix"]
    side = min(2.0 + 0.45 * len(labels), 24.0)
    figure = Figure(figsize=(side + 1.5, side), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    ticks = range(len(labels))
    small = len(labels) > 20
    axes.set_xticks(
        ticks, labels, rotation=90 if small else 45, ha="right", fontsize=6 if small else 9
    )
    axes.set_yticks(ticks, labels, fontsize=6 if small else 9)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if len(labels) <= 20:
        peak = max((max(row) for row in matrix), default=0)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                colour = "white" if peak and value > peak / 2 else "black"
                axes.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=9)
    axes.set_title(
        title
        or f"accuracy {report['accuracy']:.1%} · macro-F1 {report['macro_f1']:.3f} · "
        f"n={report['n']}"
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
