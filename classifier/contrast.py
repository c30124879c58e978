"""Contrastive explanations ("why A, not B"): which class a margin is taken against.

A signed method can differentiate the margin ``logit[predicted] - logit[versus]`` instead of
the predicted logit alone; these checks turn the label a person named into that class index.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifier.types import SIGNED_METHODS


def label_index(labels: Sequence[str], label: str | None) -> int | None:
    """The class index of ``label`` (None for None); ValueError naming the model's labels."""
    if label is None:
        return None
    if label not in labels:
        raise ValueError(f"unknown label {label!r}: this model has {', '.join(labels)}")
    return list(labels).index(label)


def check_versus(method: str, labels: Sequence[str], versus: str | None) -> None:
    """ValueError unless ``versus`` is None or a label of the model and ``method`` signed."""
    if versus is None:
        return
    if method not in SIGNED_METHODS:
        raise ValueError(
            f"a contrastive explanation needs a signed method ({', '.join(SIGNED_METHODS)}), "
            f"not {method}"
        )
    label_index(labels, versus)


def contrast_target(labels: Sequence[str], predicted: str, versus: str | None) -> int:
    """The predicted class's index, checked to differ from ``versus`` (a margin against
    itself is zero: nothing to explain)."""
    if versus == predicted:
        raise ValueError(
            f"the model predicts {versus!r} for this text: contrast it with another label"
        )
    return list(labels).index(predicted)
