"""A label bias chosen by cross-validation on the training rows (issue 25's "thresholds by
cross-validation"): every training row scored out of fold, then one additive bias per label
chosen to maximise macro-F1 on those scores, to be added to the trained model's logits.

Used by ``rare_class.py`` as a candidate against post-hoc logit adjustment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from classifier.exports import Example
from training.config import TrainConfig
from training.evaluate import score
from training.suspects import SuspectsSchedule, out_of_fold_probabilities

GRID = torch.linspace(-3.0, 3.0, 61)
ROUNDS = 3


def macro_f1(scores: torch.Tensor, gold: torch.Tensor, labels: Sequence[str]) -> float:
    """Macro-F1 of the argmax of ``scores`` (rows x labels) against ``gold`` indices."""
    names = list(labels)
    predicted = [names[i] for i in scores.argmax(-1).tolist()]
    return score([names[i] for i in gold.tolist()], predicted, names)["macro_f1"]


def tune_bias(
    log_probs: torch.Tensor, gold: torch.Tensor, labels: Sequence[str]
) -> tuple[torch.Tensor, float]:
    """The per-label bias (the most frequent label's fixed at 0) that maximises macro-F1 of
    ``log_probs + bias`` by coordinate ascent over :data:`GRID`, ties to the smaller shift;
    and that macro-F1."""
    bias = torch.zeros(log_probs.shape[1])
    anchor = int(torch.bincount(gold, minlength=log_probs.shape[1]).argmax())
    best = macro_f1(log_probs, gold, labels)
    for _ in range(ROUNDS):
        moved = False
        for j in range(log_probs.shape[1]):
            if j == anchor:
                continue
            for value in sorted(GRID.tolist(), key=abs):
                trial = bias.clone()
                trial[j] = value
                f1 = macro_f1(log_probs + trial, gold, labels)
                if f1 > best + 1e-9:
                    best, bias, moved = f1, trial, True
        if not moved:
            break
    return bias, best


def cross_validated_bias(
    rows: Sequence[Example],
    labels: Sequence[str],
    *,
    folds: int,
    base: str,
    config: TrainConfig,
    device: torch.device,
) -> tuple[torch.Tensor, dict]:
    """The bias (in ``labels`` order) tuned on out-of-fold log-probabilities of ``rows`` from
    ``folds`` standard-recipe fits with ``config``'s epochs; and what the tuning saw."""
    fold_labels, probs = out_of_fold_probabilities(
        rows,
        folds=folds,
        base=base,
        config=replace(config, recipe="standard"),
        device=device,
        schedule=SuspectsSchedule(standard_epochs=config.epochs),
    )
    order = [fold_labels.index(label) for label in labels]
    log_probs = probs[:, order].clamp_min(1e-12).log()
    index = {label: i for i, label in enumerate(labels)}
    gold = torch.tensor([index[row.label] for row in rows])
    bias, tuned = tune_bias(log_probs, gold, labels)
    return bias, {
        "folds": folds,
        "oof_macro_f1": macro_f1(log_probs, gold, labels),
        "oof_macro_f1_tuned": tuned,
        "bias": dict(zip(labels, bias.tolist(), strict=True)),
    }
