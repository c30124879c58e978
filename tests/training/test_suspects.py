"""``python -m training suspects``: folds, confident learning, and the JSON contract on the
tiny random BERT (2 folds, a few dozen rows)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from classifier.exports import Example
from tests.conftest import last_json, make_rows, write_csv
from training.__main__ import main as training_main
from training.contract import EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE
from training.suspects import assign_folds, confident_learning, rank_suspects


def _rows(labels: str) -> list[Example]:
    return [Example(f"text {i}", label, f"f.csv:{i + 2}") for i, label in enumerate(labels)]


def test_folds_are_stratified_and_even() -> None:
    rows = _rows("a" * 7 + "b" * 5 + "c" * 3)
    folds = assign_folds(rows, 3, seed=1)
    assert sorted(folds.count(k) for k in range(3)) == [5, 5, 5]
    for label in "abc":
        mine = [f for f, row in zip(folds, rows, strict=True) if row.label == label]
        assert max(mine.count(k) for k in range(3)) - min(mine.count(k) for k in range(3)) <= 1
    assert assign_folds(rows, 3, seed=1) == folds  # seeded: a run repeats


def test_confident_learning_flags_the_confident_off_diagonal() -> None:
    probs = torch.tensor(
        [
            [0.9, 0.1],  # given 0, confidently 0
            [0.7, 0.3],  # given 0, confidently 0
            [0.2, 0.8],  # given 0, confidently 1: a suspect
            [0.1, 0.9],  # given 1, confidently 1
            [0.45, 0.55],  # given 1, below class 1's threshold; above class 0's? no (0.6)
        ]
    )
    given = torch.tensor([0, 0, 0, 1, 1])
    suspect, confident, score = confident_learning(probs, given)
    # thresholds: class 0 = mean(0.9, 0.7, 0.2) = 0.6; class 1 = mean(0.9, 0.55) = 0.725
    assert suspect.tolist() == [False, False, True, False, False]
    assert confident[2] == 1
    assert score.tolist() == pytest.approx([0.1, 0.3, 0.8, 0.1, 0.45])


def test_a_row_whose_probability_is_spread_over_other_labels_is_still_a_suspect() -> None:
    probs = torch.tensor(
        [
            [0.9, 0.05, 0.05],
            [0.05, 0.5, 0.45],  # given 0: no other label reaches its threshold, yet a suspect
            [0.05, 0.9, 0.05],
            [0.1, 0.85, 0.05],
            [0.3, 0.3, 0.4],
            [0.32, 0.3, 0.38],
            [0.1, 0.5, 0.4],  # given 2, not its likeliest, but as sure of 2 as 2's rows are
        ]
    )
    given = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    suspect, suggested, score = confident_learning(probs, given)
    # thresholds: class 0 = 0.475, class 1 = 0.875, class 2 = 0.393
    assert suspect.tolist() == [False, True, False, False, False, False, False]
    assert suggested[1] == 1 and score[1] == pytest.approx(0.95)


def test_suspects_are_ranked_most_suspect_first_with_their_place() -> None:
    rows = _rows("aaaabbbb")
    probs = torch.tensor([[0.9, 0.1]] * 2 + [[0.1, 0.9], [0.3, 0.7]] + [[0.1, 0.9]] * 3 + [[1, 0]])
    found = rank_suspects(rows, ["a", "b"], probs)
    # thresholds: a 0.55, b 0.675; line 5 (0.3 for a, 0.7 for b) is confidently b too
    assert [(s.line, s.given, s.suggested) for s in found] == [
        (9, "b", "a"),
        (4, "a", "b"),
        (5, "a", "b"),
    ]
    assert found[0].score == pytest.approx(1.0) and found[0].text == "text 7"
    assert found[1].file == "f.csv"


def _suspects(capsys, tiny_base: Path, *args: str) -> tuple[int, dict]:
    code = training_main(["suspects", "--base", str(tiny_base), "--json", *args])
    return code, last_json(capsys.readouterr().out)


def test_suspects_json_contract(capsys, tiny_base, store_dir, tmp_path) -> None:
    rows = make_rows(8)
    rows[0] = (rows[0][0], "negative" if rows[0][1] != "negative" else "positive")
    export = write_csv(tmp_path / "export.csv", rows)
    code, result = _suspects(capsys, tiny_base, "--data", str(export), "--folds", "2")
    assert code == 0 and result["ok"] is True
    assert result["rows"] == 24 and result["folds"] == 2
    assert result["labels"] == ["negative", "neutral", "positive"]
    with open(export, newline="", encoding="utf-8") as handle:
        lines = {i: row for i, row in enumerate(csv.DictReader(handle), start=2)}
    scores = [s["score"] for s in result["suspects"]]
    assert scores == sorted(scores, reverse=True)
    for suspect in result["suspects"]:
        assert set(suspect) == {"file", "line", "text", "given", "suggested", "score"}
        assert suspect["file"] == str(export)
        assert lines[suspect["line"]] == {"text": suspect["text"], "label": suspect["given"]}
        assert suspect["suggested"] != suspect["given"]


def test_a_reviewed_row_is_relabelled_and_never_listed(capsys, tiny_base, store_dir, tmp_path):
    rows = make_rows(8)
    export = write_csv(tmp_path / "export.csv", rows)
    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text(
        "".join(json.dumps({"text": t, "label": "neutral"}) + "\n" for t, _ in rows[:12]),
        encoding="utf-8",
    )
    args = ("--data", str(export), "--overrides", str(reviewed), "--folds", "2")
    code, result = _suspects(capsys, tiny_base, *args)
    assert code == 0 and result["rows"] == 24
    assert not {s["text"] for s in result["suspects"]} & {t for t, _ in rows[:12]}


def test_bad_data_follows_the_failure_contract(capsys, tiny_base, store_dir, tmp_path) -> None:
    one_label = write_csv(tmp_path / "one.csv", [("fine", "a"), ("also fine", "a")])
    code, result = _suspects(capsys, tiny_base, "--data", str(one_label))
    assert code == EXIT_DATA and result["ok"] is False
    assert result["error"]["kind"] == "data" and result["error"]["problems"]


def test_folds_out_of_range_is_a_usage_error(capsys, tiny_base, store_dir, export) -> None:
    code, result = _suspects(capsys, tiny_base, "--data", str(export), "--folds", "1")
    assert code == EXIT_USAGE and result["error"]["kind"] == "usage"


def test_an_interrupted_run_says_so(capsys, tiny_base, store_dir, export, monkeypatch) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("training.suspects.fold_probabilities", interrupt)
    code, result = _suspects(capsys, tiny_base, "--data", str(export), "--folds", "2")
    assert code == EXIT_INTERRUPTED and result["error"]["kind"] == "interrupted"
    assert result["error"]["message"] == "interrupted: the suspects run stopped"
