import math

import pytest

from classifier.uncertainty import entropy, margin, uncertainty


def test_margin_is_one_minus_the_gap_between_the_top_two():
    assert margin([0.7, 0.2, 0.1]) == pytest.approx(0.5)
    assert margin([0.5, 0.5]) == pytest.approx(1.0)
    assert margin([1.0, 0.0]) == pytest.approx(0.0)


def test_entropy_is_normalised_by_the_number_of_classes():
    assert entropy([1 / 3, 1 / 3, 1 / 3]) == pytest.approx(1.0)
    assert entropy([1.0, 0.0, 0.0]) == pytest.approx(0.0)
    expected = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) / math.log(2)
    assert entropy([0.9, 0.1]) == pytest.approx(expected)


def test_a_single_class_is_never_uncertain():
    assert margin([1.0]) == 0.0
    assert entropy([1.0]) == 0.0


def test_less_sure_predictions_score_higher_on_both():
    sure, unsure = [0.95, 0.03, 0.02], [0.4, 0.35, 0.25]
    for score in ("margin", "entropy"):
        assert uncertainty(unsure, score) > uncertainty(sure, score)


def test_unknown_score_is_refused_by_name():
    with pytest.raises(ValueError, match="bogus"):
        uncertainty([0.5, 0.5], "bogus")
