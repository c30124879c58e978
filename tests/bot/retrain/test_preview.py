"""The preview checks the data with the same options the run would use."""

from __future__ import annotations

from bot.retrain.preview import _data_args


def test_the_check_gets_the_runs_data_options_and_nothing_else() -> None:
    cmd = ["py", "-m", "training", "train", "--data", "a.csv", "c.jsonl", "--train-only", "x"]
    cmd += ["--base", "b", "--promote", "--text-column", "body", "--seed=3", "--epochs", "2"]
    assert _data_args(cmd) == [
        *("--data", "a.csv", "c.jsonl", "--train-only", "x"),
        *("--text-column", "body", "--seed=3"),
    ]
