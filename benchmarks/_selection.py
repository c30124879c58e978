"""The pure parts of the active-learning benchmark: which pool rows a round labels next, the
mean ± std of several runs, and the "same accuracy with fewer labels" verdict.

No datasets, models or torch here, so ``tests/benchmarks/test_selection.py`` checks them
directly. ``benchmarks/active_learning.py`` runs the simulation around them.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence


def pick_uncertain(candidates: Sequence[int], scores: Sequence[float], k: int) -> list[int]:
    """The ``k`` candidates (pool indices) with the highest uncertainty ``scores`` (aligned
    with ``candidates``), most uncertain first; ties go to the lower index so runs repeat.
    Raises ``ValueError`` when the lengths differ, a candidate repeats or ``k`` is negative."""
    _check(candidates, k)
    if len(scores) != len(candidates):
        raise ValueError(f"{len(scores)} scores for {len(candidates)} candidates")
    ranked = sorted(zip(candidates, scores, strict=True), key=lambda pair: (-pair[1], pair[0]))
    return [index for index, _ in ranked[:k]]


def pick_random(candidates: Sequence[int], k: int, rng: random.Random) -> list[int]:
    """``k`` candidates (pool indices) drawn without replacement by ``rng`` (all of them when
    fewer remain). Raises ``ValueError`` when a candidate repeats or ``k`` is negative."""
    _check(candidates, k)
    return rng.sample(list(candidates), min(k, len(candidates)))


def _check(candidates: Sequence[int], k: int) -> None:
    if k < 0:
        raise ValueError(f"cannot pick {k} rows")
    if len(set(candidates)) != len(candidates):
        raise ValueError("a candidate appears twice: the pool must not offer a row twice")


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value). Raises ``ValueError`` if empty."""
    if not values:
        raise ValueError("no values")
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), spread


def verdict(
    labels: Sequence[int],
    uncertainty_mean: Sequence[float],
    random_mean: Sequence[float],
    goal: float = 0.6,
) -> dict:
    """Does uncertainty sampling reach random sampling's final mean accuracy with at most
    ``goal`` of its labels?

    ``labels`` are the labelled-row counts of the rounds (ascending, shared by both curves).
    ``labels_needed`` is the smallest count at which uncertainty's mean accuracy is at least
    random's final one, ``fraction`` that count over random's final count; ``met`` says whether
    ``fraction <= goal``. When uncertainty never gets there, ``labels_needed`` and ``fraction``
    are ``None`` and ``gap`` is how far its best mean stays below the target (same units as
    the accuracies). ``text`` says it in one line for the README.
    """
    if not (len(labels) == len(uncertainty_mean) == len(random_mean)) or not labels:
        raise ValueError("labels and both curves must have the same, non-zero length")
    if list(labels) != sorted(labels):
        raise ValueError("labels must be ascending")
    target, final = random_mean[-1], labels[-1]
    for count, accuracy in zip(labels, uncertainty_mean, strict=True):
        if accuracy >= target:
            fraction = count / final
            met = fraction <= goal
            return {
                "target_accuracy": target,
                "random_final_labels": final,
                "labels_needed": count,
                "fraction": fraction,
                "goal": goal,
                "met": met,
                "gap": 0.0,
                "text": (
                    f"{'met' if met else 'not met'}: uncertainty reaches random's final "
                    f"{target:.2f} at {count} labels, {fraction:.0%} of random's {final} "
                    f"(goal <= {goal:.0%})"
                ),
            }
    best = max(uncertainty_mean)
    return {
        "target_accuracy": target,
        "random_final_labels": final,
        "labels_needed": None,
        "fraction": None,
        "goal": goal,
        "met": False,
        "gap": target - best,
        "text": (
            f"gap: uncertainty's best mean {best:.2f} stays {target - best:.2f} below random's "
            f"final {target:.2f} at {final} labels"
        ),
    }
