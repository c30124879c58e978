"""The active-learning benchmark's summary (mean ± std per round, verdicts), tables and plot."""

from __future__ import annotations

from pathlib import Path

import pytest
from _al_report import plot, summarise, tables

AXIS = [64, 128, 192]


def run(strategy: str, seed: int, accuracy: list[float], dataset: str = "sst2") -> dict:
    return {
        "dataset": dataset,
        "seed": seed,
        "strategy": strategy,
        "labels": AXIS,
        "accuracy": accuracy,
    }


RUNS = [
    run("random", 42, [70.0, 74.0, 78.0]),
    run("random", 43, [72.0, 76.0, 80.0]),
    run("margin", 42, [70.0, 78.0, 82.0]),
    run("margin", 43, [72.0, 80.0, 84.0]),
    run("random", 42, [20.0, 30.0, 40.0], dataset="banking77"),
]


def test_summary_is_the_mean_and_std_per_round_over_seeds() -> None:
    summary = summarise(RUNS, ["margin"])
    random_curve = summary["sst2"]["curves"]["random"]
    assert random_curve["mean"] == [71.0, 75.0, 79.0]
    assert random_curve["std"] == pytest.approx([2**0.5] * 3)
    assert random_curve["seeds"] == [42, 43]
    verdict = summary["sst2"]["verdicts"]["margin"]
    assert verdict["labels_needed"] == 128  # margin's 79.0 at 128 reaches random's final 79.0
    assert verdict["fraction"] == pytest.approx(128 / 192)
    assert verdict["met"] is False
    assert verdict["seeds"] == [42, 43]


def test_no_verdict_without_both_strategies() -> None:
    summary = summarise(RUNS, ["margin"])
    assert summary["banking77"]["verdicts"] == {}
    assert list(summary["banking77"]["curves"]) == ["random"]


def test_runs_on_different_label_axes_are_refused() -> None:
    odd = {**run("random", 44, [1.0, 2.0]), "labels": [64, 128]}
    with pytest.raises(ValueError, match="disagree"):
        summarise([*RUNS, odd], ["margin"])


def test_tables_show_each_round_and_the_verdict() -> None:
    text = tables(summarise(RUNS, ["margin"]))
    assert "| labels | random (2 runs) | margin (2 runs) |" in text
    assert "| 128    | 75.00 ± 1.41    | 79.00 ± 1.41    |" in text
    assert "margin: not met: uncertainty reaches random's final 79.00 at 128 labels" in text
    assert "banking77 (test)" in text


def test_plot_writes_a_png(tmp_path: Path) -> None:
    path = plot(summarise(RUNS, ["margin"]), tmp_path / "al" / "curve.png")
    assert path.read_bytes().startswith(b"\x89PNG")
