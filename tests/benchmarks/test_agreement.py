"""benchmarks/agreement.py: the exact values it compares with are right where they are known,
and the simulated team's figures come out near them."""

import random

import pytest
from agreement import estimates, simulate, truth


def test_a_flawless_team_agrees_perfectly() -> None:
    exact = truth([0.5, 0.5], [0.0, 0.0, 0.0])
    assert exact["kappa L1-L2"] == pytest.approx(1.0) and exact["fleiss"] == pytest.approx(1.0)
    assert exact["label 0 agreement"] == pytest.approx(1.0)


def test_labelers_guessing_agree_by_chance_only() -> None:
    exact = truth([0.5, 0.5], [0.5, 0.5, 0.5])  # two labels: a coin each time
    assert exact["kappa L1-L3"] == pytest.approx(0.0) and exact["fleiss"] == pytest.approx(0.0)


def test_the_estimates_come_near_the_truth() -> None:
    prior, errors = [0.4, 0.3, 0.2, 0.1], [0.05, 0.15, 0.3]
    found = estimates(simulate(prior, errors, 1000, "all", random.Random(0)))
    for name, value in truth(prior, errors).items():
        assert found[name] == pytest.approx(value, abs=0.08), name
