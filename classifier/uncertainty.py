"""How unsure a prediction is, from its class probabilities: the score the labelling queue
ranks by and the active-learning benchmark samples by.

Both scores are in ``[0, 1]``, higher meaning less sure, and both read the probabilities a
:class:`~classifier.types.Prediction` carries (calibrated when the version has a
temperature). ``margin`` is ``1 - (p_top - p_second)``: it looks only at the two classes a
labeler would hesitate between. ``entropy`` is the Shannon entropy divided by ``log(K)``: it
also counts how spread the rest of the mass is, which matters with many classes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SCORES = ("margin", "entropy")


def margin(probabilities: Iterable[float]) -> float:
    """``1 - (top - second)`` of the probabilities; 0 with a single class."""
    ranked = sorted(probabilities, reverse=True)
    if len(ranked) < 2:
        return 0.0
    return min(1.0, max(0.0, 1.0 - (ranked[0] - ranked[1])))


def entropy(probabilities: Iterable[float]) -> float:
    """Shannon entropy of the probabilities over ``log(K)``; 0 with a single class."""
    values = list(probabilities)
    if len(values) < 2:
        return 0.0
    total = -sum(p * math.log(p) for p in values if p > 0.0)
    return min(1.0, max(0.0, total / math.log(len(values))))


def uncertainty(probabilities: Iterable[float], score: str = "margin") -> float:
    """The named score (:data:`SCORES`) of the probabilities. Raises ``ValueError`` for an
    unknown score name."""
    if score == "margin":
        return margin(probabilities)
    if score == "entropy":
        return entropy(probabilities)
    raise ValueError(f"unknown uncertainty score {score!r}: use {' or '.join(SCORES)}")
