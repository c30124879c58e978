"""The active-learning benchmark's row picking and its 60 % verdict."""

from __future__ import annotations

import random

import pytest
from _selection import mean_std, pick_random, pick_uncertain, verdict


def test_uncertain_takes_the_highest_scores_most_uncertain_first() -> None:
    candidates = [3, 7, 1, 9, 4]
    scores = [0.10, 0.95, 0.50, 0.80, 0.20]
    assert pick_uncertain(candidates, scores, 3) == [7, 9, 1]


def test_uncertain_breaks_ties_by_lower_index_and_stops_at_the_pool() -> None:
    assert pick_uncertain([8, 2, 5], [0.5, 0.5, 0.5], 2) == [2, 5]
    assert pick_uncertain([8, 2], [0.1, 0.9], 10) == [2, 8]


def test_rounds_never_pick_a_row_twice() -> None:
    rng = random.Random(0)
    pool = list(range(50))
    labelled: list[int] = []
    for round_number in range(5):
        candidates = [i for i in pool if i not in set(labelled)]
        if round_number % 2:
            picked = pick_random(candidates, 7, rng)
        else:
            scores = [((i * 37) % 11) / 10 for i in candidates]
            picked = pick_uncertain(candidates, scores, 7)
        assert set(picked) <= set(candidates)
        labelled += picked
    assert len(labelled) == len(set(labelled)) == 35


def test_a_candidate_offered_twice_or_misaligned_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        pick_uncertain([1, 1], [0.2, 0.3], 1)
    with pytest.raises(ValueError, match="twice"):
        pick_random([4, 4], 1, random.Random(0))
    with pytest.raises(ValueError, match="scores"):
        pick_uncertain([1, 2], [0.2], 1)
    with pytest.raises(ValueError, match="pick"):
        pick_random([1, 2], -1, random.Random(0))


def test_random_is_seeded() -> None:
    candidates = list(range(100))
    first = pick_random(candidates, 10, random.Random("random-42"))
    assert first == pick_random(candidates, 10, random.Random("random-42"))
    assert first != pick_random(candidates, 10, random.Random("random-43"))
    assert len(set(first)) == 10


def test_mean_std() -> None:
    assert mean_std([80.0, 82.0, 84.0]) == (82.0, 2.0)
    assert mean_std([70.0]) == (70.0, 0.0)
    with pytest.raises(ValueError):
        mean_std([])


LABELS = [64, 128, 192, 256, 320, 384]
RANDOM = [70.0, 74.0, 77.0, 79.0, 80.0, 81.0]


def test_verdict_met_at_the_first_count_reaching_randoms_final_accuracy() -> None:
    result = verdict(LABELS, [70.0, 78.0, 81.0, 80.0, 83.0, 84.0], RANDOM)
    assert result["labels_needed"] == 192
    assert result["fraction"] == pytest.approx(0.5)
    assert result["met"] is True
    assert result["text"].startswith("met:")


def test_verdict_reached_too_late_is_not_met() -> None:
    result = verdict(LABELS, [70.0, 74.0, 77.0, 80.0, 81.0, 82.0], RANDOM)
    assert result["labels_needed"] == 320
    assert result["fraction"] == pytest.approx(320 / 384)
    assert result["met"] is False
    assert result["text"].startswith("not met:")


def test_verdict_never_reached_states_the_gap() -> None:
    result = verdict(LABELS, [70.0, 73.0, 75.0, 78.0, 79.5, 79.0], RANDOM)
    assert result["labels_needed"] is None
    assert result["met"] is False
    assert result["gap"] == pytest.approx(1.5)
    assert result["text"].startswith("gap:")


def test_verdict_refuses_curves_that_do_not_line_up() -> None:
    with pytest.raises(ValueError):
        verdict(LABELS, RANDOM[:-1], RANDOM)
    with pytest.raises(ValueError):
        verdict(list(reversed(LABELS)), RANDOM, RANDOM)
