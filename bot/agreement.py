"""How far labelers agree, from the items two or more of them answered (``HEED_DOUBLE_LABEL``):
pairwise Cohen's kappa (scikit-learn), Fleiss' kappa with three or more labelers, each
labeler's agreement with the others' consensus, and each label's specific agreement.

Fleiss' kappa is written out here rather than taken from statsmodels (a large dependency for
ten lines) in the form that allows a different number of answers per item: item i with n_i
answers, n_ik of them label k, agrees P_i = sum_k n_ik (n_ik - 1) / (n_i (n_i - 1)); chance
agreement is P_e = sum_k p_k^2 with p_k the share of all answers that are k; kappa =
(mean P_i - P_e) / (1 - P_e). With the same n on every item it is Fleiss (1971) exactly.
A label's *specific agreement* is the share of its answer pairs on one item that agree:
sum_i n_ik (n_ik - 1) / sum_i n_ik (n_i - 1) (for two labelers, 2·both / (either's count)).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

LOW_AGREEMENT = 0.6
"""A label whose specific agreement is below this (over :data:`MIN_PAIRS` answer pairs or
more) gets a warning in the retrain preview: labelers disagree on it too often to train on."""
MIN_PAIRS = 5

Rating = tuple[int, str, str]
"""``(item, labeler, label)``: one trusted answer."""


@dataclass(frozen=True)
class PairKappa:
    """Cohen's kappa of two labelers over the ``items`` both answered (None when undefined)."""

    first: str
    second: str
    items: int
    kappa: float | None


@dataclass(frozen=True)
class LabelAgreement:
    """A label's specific agreement over its ``pairs`` of answers on one item."""

    label: str
    pairs: int
    agreement: float


@dataclass(frozen=True)
class Agreement:
    """The agreement figures of one task."""

    items: int  # answered by two labelers or more
    pairs: tuple[PairKappa, ...]
    fleiss: float | None  # with three labelers or more
    with_consensus: dict[str, tuple[int, float]]  # labeler -> (items, share agreeing)
    labels: tuple[LabelAgreement, ...]  # lowest agreement first

    @property
    def mean_kappa(self) -> float | None:
        """The mean of the defined pairwise kappas, weighted by their items."""
        defined = [(p.kappa, p.items) for p in self.pairs if p.kappa is not None]
        weight = sum(items for _, items in defined)
        return sum(kappa * items for kappa, items in defined) / weight if weight else None

    def low_labels(self, threshold: float = LOW_AGREEMENT) -> list[LabelAgreement]:
        """The labels agreed on less than ``threshold``, with :data:`MIN_PAIRS` pairs or more."""
        return [x for x in self.labels if x.pairs >= MIN_PAIRS and x.agreement < threshold]


def _items(ratings: Iterable[Rating]) -> dict[int, dict[str, str]]:
    """``item -> {labeler: label}`` for the items with two labelers or more."""
    by_item: dict[int, dict[str, str]] = defaultdict(dict)
    for item, labeler, label in ratings:
        by_item[item][labeler] = label
    return {item: answers for item, answers in by_item.items() if len(answers) >= 2}


def cohen(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two label sequences (scikit-learn); None when undefined (no items, or
    both gave one same label throughout, so chance agreement is already 1)."""
    # imported on first use: scikit-learn adds 3.1 s to the bot's start (shared 2-core host)
    from sklearn.metrics import cohen_kappa_score

    if not first or set(first) | set(second) == set(first[:1]):
        return None
    kappa = float(cohen_kappa_score(first, second))
    return None if math.isnan(kappa) else kappa


def fleiss(items: Iterable[Sequence[str]]) -> float | None:
    """Fleiss' kappa of items with any number (two or more) of labels each; None when
    undefined (no items, or one label throughout)."""
    agree, totals, answers = [], Counter[str](), 0
    for labels in items:
        n, counts = len(labels), Counter(labels)
        agree.append(sum(c * (c - 1) for c in counts.values()) / (n * (n - 1)))
        totals.update(counts)
        answers += n
    if not agree:
        return None
    chance = sum((c / answers) ** 2 for c in totals.values())
    return None if chance >= 1 else (sum(agree) / len(agree) - chance) / (1 - chance)


def _with_consensus(items: dict[int, dict[str, str]]) -> dict[str, tuple[int, float]]:
    """Each labeler's share of items where they gave the others' most common label (items
    where the others tie are left out)."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for answers in items.values():
        for labeler, label in answers.items():
            ranked = Counter(v for k, v in answers.items() if k != labeler).most_common(2)
            if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
                continue
            hits[labeler].append(label == ranked[0][0])
    return {who: (len(h), sum(h) / len(h)) for who, h in sorted(hits.items())}


def _labels(items: dict[int, dict[str, str]]) -> tuple[LabelAgreement, ...]:
    agreeing: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for answers in items.values():
        n = len(answers)
        for label, count in Counter(answers.values()).items():
            agreeing[label] += count * (count - 1)
            pairs[label] += count * (n - 1)
    found = [LabelAgreement(k, pairs[k], agreeing[k] / pairs[k]) for k in pairs]
    return tuple(sorted(found, key=lambda x: (x.agreement, x.label)))


def agreement(ratings: Iterable[Rating]) -> Agreement:
    """The agreement figures of ``ratings`` (only items with two labelers or more count)."""
    items = _items(ratings)
    labelers = sorted({who for answers in items.values() for who in answers})
    pairs = []
    for first, second in combinations(labelers, 2):
        both = [a for a in items.values() if first in a and second in a]
        kappa = cohen([a[first] for a in both], [a[second] for a in both])
        if both:
            pairs.append(PairKappa(first, second, len(both), kappa))
    many = fleiss(list(a.values()) for a in items.values()) if len(labelers) >= 3 else None
    return Agreement(len(items), tuple(pairs), many, _with_consensus(items), _labels(items))
