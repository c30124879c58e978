"""One value renders the training command and checks the data the way that command reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.retrain.request import RUN_FLAGS, TrainRequest, reader_options
from classifier.exports import DataError
from tests.conftest import make_rows, write_csv


def test_the_arguments_keep_corrections_for_training_only(tmp_path: Path) -> None:
    data, held, fixes = tmp_path / "a.csv", tmp_path / "e.csv", tmp_path / "c.jsonl"
    split = TrainRequest((data,), corrections=fixes, base="current", options=("--epochs", "2"))
    assert split.train_args() == [
        *("train", "--data", str(data), "--train-only", str(fixes), "--base", "current"),
        *RUN_FLAGS,
        *("--epochs", "2"),
    ]
    judged = TrainRequest((data,), (held,), corrections=fixes)
    assert judged.train_args() == [
        *("train", "--data", str(data), str(fixes), "--eval-data", str(held)),
        *RUN_FLAGS,
    ]
    assert TrainRequest((), bundled_sample=True).train_args() == [
        "train",
        "--bundled-sample",
        *RUN_FLAGS,
    ]


def test_the_reader_options_come_from_the_training_options() -> None:
    options = ("--epochs", "1", "--seed=3", "--text-column", "body", "--label-column", "y")
    assert reader_options(options) == {"seed": 3, "text_column": "body", "label_column": "y"}
    defaults = {"seed": 42, "text_column": "text", "label_column": "label"}
    assert reader_options(()) == defaults
    # spelled as train accepts them, or left to train to refuse (no abbreviation, no value)
    assert reader_options(("--text-col", "body", "--seed", "x")) == defaults
    assert reader_options(("--seed",)) == defaults


def test_the_check_reads_and_splits_as_the_run_would(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv", make_rows(5))
    fixes = write_csv(tmp_path / "fixes.csv", make_rows(1, seed=2))
    report = TrainRequest((data,), corrections=fixes).check()
    assert (report.train_rows, report.eval_rows) == (12 + 3, 3)
    assert [(f.role, f.rows) for f in report.files] == [("train", 15), ("train-only", 3)]
    assert report.eval_split.startswith("stratified 20% of --data (seed 42)")
    held = write_csv(tmp_path / "held.csv", make_rows(1, seed=9))
    report = TrainRequest((data,), (held,), fixes, options=("--seed", "7")).check()
    assert [(f.role, f.rows) for f in report.files] == [
        ("train", 15),
        ("train", 3),
        ("eval", 3),
    ]
    assert (report.train_rows, report.eval_rows, report.eval_split) == (18, 3, "given")


def test_the_check_honours_the_column_options(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv", make_rows(3), header=("body", "label"))
    with pytest.raises(DataError, match="missing column 'text'"):
        TrainRequest((data,)).check()
    assert TrainRequest((data,), options=("--text-column", "body")).check().train_rows == 6
