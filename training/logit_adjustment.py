"""A new version's label bias (``TrainConfig.logit_adjustment``, :mod:`classifier.label_bias`):
the probe that serves it during training, and the held-out metrics with the bias applied."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import torch

from classifier import Classifier
from classifier.exports import Example
from classifier.label_bias import adjusted, prior_bias
from training.evaluate import score
from training.finetune import TrainOutcome


def label_bias(tau: float, train_rows: Sequence[Example]) -> dict[str, float] | None:
    """``-tau * log(share)`` per label of ``train_rows``; None at ``tau`` = 0 (no adjustment:
    the version keeps plain logits)."""
    return prior_bias(Counter(r.label for r in train_rows), tau) if tau else None


def biased_probe(
    outcome: TrainOutcome, train_rows: Sequence[Example], tau: float, device: torch.device
) -> tuple[Classifier, dict[str, float] | None]:
    """The trained model as a :class:`Classifier` with the label bias of ``tau`` on
    ``train_rows``, and that bias (None at ``tau`` = 0). The recipe's own held-out logits
    (``outcome.eval_logits``, few-shot) get the bias too: the temperature is fitted on them."""
    bias = label_bias(tau, train_rows)
    probe = Classifier(
        outcome.model, outcome.tokenizer, version="(probe)", device=device, label_bias=bias
    )
    if outcome.eval_logits is not None:
        outcome.eval_logits = adjusted(outcome.eval_logits, probe.label_bias)
    return probe, bias


def rescored(
    outcome: TrainOutcome,
    held_logits: torch.Tensor,
    eval_rows: Sequence[Example],
    bias: Mapping[str, float] | None,
) -> dict:
    """``outcome.metrics`` with accuracy, macro-F1, per-class scores and confusion matrix
    recomputed from ``held_logits`` (the eval rows' logits, ``bias`` added): the decisions the
    version will serve. Unchanged without a bias or without eval rows."""
    if not bias or not eval_rows:
        return outcome.metrics
    predicted = [outcome.labels[i] for i in held_logits.argmax(dim=-1).tolist()]
    gold = [e.label for e in eval_rows]
    return {**outcome.metrics, **score(gold, predicted, outcome.labels)}
