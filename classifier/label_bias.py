"""Post-hoc logit adjustment by the label prior (``heed.json``: ``label_bias``).

A model trained on rows where one class is rare learns that class's low prior and seldom
predicts it. Menon et al. (2021, "Long-tail learning via logit adjustment") subtract
``tau * log(prior)`` from each class's logit at prediction time: the rare class's logit goes up
by more than a common one's, which pushes the decision toward the balanced error. Training
(``TrainConfig.logit_adjustment`` = tau) records the per-class bias ``-tau * log(share of the
training rows)``; every logit Heed turns into a label or a probability is ``logits + bias``
(the temperature is fitted on, and divides, the adjusted logits). A version without the key
has no bias: the logits it always had.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from classifier.store import read_metadata

LABEL_BIAS_KEY = "label_bias"


class BadLabelBias(ValueError):
    """A version's ``heed.json`` has a label bias that does not fit its labels."""


def prior_bias(counts: Mapping[str, int], tau: float) -> dict[str, float]:
    """``-tau * log(share)`` per label of ``counts`` (the training rows per label)."""
    if isinstance(tau, bool) or not isinstance(tau, int | float) or not math.isfinite(tau):
        raise BadLabelBias(f"logit adjustment must be a finite number, got {tau!r}")
    if tau < 0:
        raise BadLabelBias(f"logit adjustment must be >= 0, got {tau!r}")
    total = sum(counts.values())
    if total <= 0 or any(n <= 0 for n in counts.values()):
        raise BadLabelBias(f"every label needs training rows for its prior, got {dict(counts)}")
    return {label: -tau * math.log(n / total) for label, n in counts.items()}


def check_label_bias(value: object, labels: Sequence[str]) -> torch.Tensor | None:
    """``value`` (``{label: bias}`` or None) as a tensor in ``labels`` order, None for no bias.
    Raises :class:`BadLabelBias` unless it names exactly ``labels``, each with a finite number."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadLabelBias(f"label bias must be a mapping of label to number, got {value!r}")
    if set(value) != set(labels):
        raise BadLabelBias(
            f"label bias must name exactly the model's labels {sorted(labels)}, "
            f"got {sorted(map(str, value))}"
        )
    numbers = [value[label] for label in labels]
    for label, number in zip(labels, numbers, strict=True):
        bad = isinstance(number, bool) or not isinstance(number, int | float)
        if bad or not math.isfinite(number):
            raise BadLabelBias(f"label bias of {label!r} must be a finite number, got {number!r}")
    return torch.tensor(numbers, dtype=torch.float32)


def label_bias_of(path: Path) -> dict | None:
    """The raw ``label_bias`` of the model directory ``path`` (None without one); checked
    against the model's labels by :func:`check_label_bias`."""
    return read_metadata(path).get(LABEL_BIAS_KEY)


def adjusted(logits: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``logits + bias`` over the last dimension in float32 (no bias: the logits unchanged)."""
    values = logits.float()
    return values if bias is None else values + bias.to(values.device)
