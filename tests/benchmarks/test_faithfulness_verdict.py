"""The faithfulness benchmark's splits and verdict: the default is chosen on the selection rows
only, and checked on report rows the choice never saw."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from _faithfulness_verdict import recommend, split_rows


@dataclass(frozen=True)
class Row:
    text: str
    label: str


def result(dataset: str, split: str | None, **methods: tuple[float, float, float]) -> dict:
    """A dataset's result with (comprehensiveness, sufficiency, explain ms) per method."""
    out = {
        "dataset": dataset,
        "methods": {
            m: {"comp": {"aopc": c}, "suff": {"aopc": s}, "explain_ms_mean": ms}
            for m, (c, s, ms) in methods.items()
        },
    }
    return out if split is None else {**out, "split": split}


def test_the_splits_are_disjoint_stratified_draws_and_the_selection_is_the_old_draw() -> None:
    from _common import stratified_subsample

    rows = [Row(f"text {i}", "pos" if i % 3 else "neg") for i in range(90)]
    rows.append(Row("text 1", "pos"))  # a repeated text may not land on both sides
    splits = split_rows(rows, 30, 13)
    assert splits["selection"] == stratified_subsample(rows, 30, 13)
    assert len(splits["report"]) == 30
    assert not {r.text for r in splits["selection"]} & {r.text for r in splits["report"]}
    assert Counter(r.label for r in splits["report"]) == {"pos": 20, "neg": 10}


def test_the_default_is_chosen_on_the_selection_split_and_checked_on_the_report_split() -> None:
    results = [
        result("a", "selection", gradient=(0.50, 0.05, 250), fast=(0.49, 0.04, 40)),
        result("a", "report", gradient=(0.50, 0.05, 250), fast=(0.40, 0.04, 40)),
    ]
    verdict = recommend(results, {})
    assert verdict["method"] == "fast" and verdict["default_candidates"] == ["fast"]
    assert verdict["verdicts"]["fast"]["gaps"]["a"]["comp_gap"] == pytest.approx(0.01)
    assert verdict["report_check"]["fast"]["as_faithful_as_ig"] is False
    assert "within 60 ms: fast" in verdict["reason"]


def test_within_budget_needs_the_latency_goal_and_old_runs_count_as_selection() -> None:
    results = [result("a", None, gradient=(0.50, 0.05, 250), slow=(0.52, 0.04, 75))]
    latency = {"p50_ms_medium": {"gradient": 222.0, "slow": 74.0}}
    verdict = recommend(results, latency)
    assert verdict["method"] == "slow" and verdict["default_candidates"] == []
    assert verdict["verdicts"]["slow"]["cost_basis"] == "latency.py p50 /classify, 40 words"
    assert verdict["report_check"] == {} and "within 60 ms: none" in verdict["reason"]
