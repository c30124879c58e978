"""The agreement figures: Cohen's kappa by pair (scikit-learn), Fleiss' kappa against the
published worked example, each labeler against the others' consensus, per-label agreement,
and the undefined cases."""

from __future__ import annotations

import pytest

from bot.agreement import MIN_PAIRS, agreement, cohen, fleiss

# Fleiss (1971), as worked on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters each,
# 5 categories; kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_matches_the_worked_example() -> None:
    items = [[str(k) for k, n in enumerate(row) for _ in range(n)] for row in FLEISS_TABLE]
    assert fleiss(items) == pytest.approx(0.210, abs=5e-4)


def test_undefined_kappas_are_none() -> None:
    assert cohen([], []) is None
    assert cohen(["a", "a"], ["a", "a"]) is None  # chance agreement is already 1
    assert cohen(["a", "b"], ["a", "b"]) == 1.0
    assert fleiss([]) is None and fleiss([["a", "a"], ["a", "a"]]) is None


def test_the_figures_of_a_small_team() -> None:
    ratings = [
        (1, "A", "x"), (1, "B", "x"),
        (2, "A", "y"), (2, "B", "x"),
        (3, "A", "y"), (3, "B", "y"), (3, "C", "y"),
        (4, "A", "x"),  # one labeler only: not counted
    ]  # fmt: skip
    found = agreement(ratings)
    assert found.items == 3
    ab = found.pairs[0]
    assert (ab.first, ab.second, ab.items, ab.kappa) == ("A", "B", 3, pytest.approx(0.4))
    assert [(p.first, p.second, p.items, p.kappa) for p in found.pairs[1:]] == [
        ("A", "C", 1, None),
        ("B", "C", 1, None),
    ]
    assert found.fleiss == pytest.approx(fleiss([["x", "x"], ["y", "x"], ["y", "y", "y"]]))
    assert found.with_consensus == {
        "A": (3, pytest.approx(2 / 3)),
        "B": (3, pytest.approx(2 / 3)),
        "C": (1, 1.0),
    }
    assert [(x.label, x.pairs, x.agreement) for x in found.labels] == [
        ("x", 3, pytest.approx(2 / 3)),  # lowest first
        ("y", 7, pytest.approx(6 / 7)),
    ]
    assert found.mean_kappa == pytest.approx(0.4)  # only the defined pair


def test_low_labels_need_enough_pairs() -> None:
    disagree = [
        (i, who, label) for i in range(MIN_PAIRS) for who, label in (("A", "x"), ("B", "y"))
    ]
    agree = [(100 + i, who, "z") for i in range(MIN_PAIRS) for who in "AB"]
    rare = [(200, "A", "w"), (200, "B", "z")]
    found = agreement(disagree + agree + rare)
    assert [x.label for x in found.low_labels()] == ["x", "y"]
    assert found.fleiss is None  # two labelers: Cohen's only
    assert agreement([]).items == 0 and agreement([]).mean_kappa is None
