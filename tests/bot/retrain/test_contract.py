"""The training CLI's contract as the bot sees it: one request value renders the command and
checks the data the way that command reads it; the JSON outcome is typed once (hostile values
read as absent), one line for an admin per error kind, chosen by the kind (never by the
wording), and the exit code or signal when there is no JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.retrain.contract import (
    ERROR_KINDS,
    MAX_REASON_CHARS,
    RUN_FLAGS,
    TrainRequest,
    TrainResult,
    failure_reason,
    last_json_line,
    parse_result,
    reader_options,
)
from classifier.exports import DataError, Problem
from tests.conftest import make_rows, write_csv

SUCCESS = {
    "ok": True,
    "version": "20260103-000000-cafe00",
    "path": "/models/20260103-000000-cafe00",
    "labels": ["negative", "positive"],
    "metrics": {
        "accuracy": 0.9,
        "macro_f1": 0.8,
        "per_class": {"negative": {"precision": 1.0, "recall": 0.5, "f1": 0.67, "support": 4}},
        "confusion_matrix": [[2, 2], [0, 6]],
    },
    "calibration": {"temperature": 1.5, "calibrated": True, "ece_before": 0.1, "ece_after": 0.05},
    "eval_split": "given",
    "promoted": True,
    "promotion": {"reason": "first model in the store"},
    "rows": {"train": 40, "eval": 10},
    "seconds": 12.5,
}
EXIT_CODES = {
    "internal": 1,
    "data": 2,
    "base_model": 3,
    "device": 4,
    "model": 5,
    "usage": 64,
    "interrupted": 130,
}


def failure(kind: str, message: str = "", problems: Any = ()) -> dict[str, Any]:
    return {"ok": False, "error": {"kind": kind, "message": message, "problems": list(problems)}}


def reason(payload: dict[str, Any] | None, returncode: int, **rename: str) -> str:
    outcome = parse_result(payload, returncode)
    assert not outcome.ok
    return failure_reason(outcome, rename or None)


def test_success_is_read_into_typed_fields(tmp_path: Path) -> None:
    outcome = parse_result({**SUCCESS, "path": str(tmp_path)}, 0)
    assert outcome.ok and outcome.kind is None and outcome.problems == ()
    assert (outcome.version, outcome.promoted, outcome.promotion_reason) == (
        "20260103-000000-cafe00",
        True,
        "first model in the store",
    )
    assert outcome.labels == ("negative", "positive") and outcome.eval_rows == 10
    assert (outcome.accuracy, outcome.macro_f1, outcome.eval_split) == (0.9, 0.8, "given")
    assert outcome.confusion_matrix == ((2, 2), (0, 6))
    assert outcome.per_class["negative"]["support"] == 4
    assert (outcome.temperature, outcome.calibrated, outcome.ece_after) == (1.5, True, 0.05)
    assert outcome.stored_metrics()["labels"] == ["negative", "positive"]
    assert outcome.figure("confusion_matrix.png") is None
    (tmp_path / "confusion_matrix.png").write_bytes(b"\x89PNG")
    assert outcome.figure("confusion_matrix.png") == tmp_path / "confusion_matrix.png"
    stdout = tmp_path / "stdout.txt"
    stdout.write_text(json.dumps(SUCCESS) + "\n")
    assert parse_result(last_json_line(stdout), 0) == parse_result(SUCCESS, 0)


def test_values_of_the_wrong_type_read_as_absent() -> None:
    hostile = {
        "ok": True,
        "version": ["x"],
        "path": 3,
        "promoted": "yes",
        "promotion": "no",
        "labels": "ab",
        "metrics": {"accuracy": "1.0", "macro_f1": True, "per_class": [], "confusion_matrix": 7},
        "calibration": {"temperature": "hot"},
        "rows": {"eval": None},
    }
    assert parse_result(hostile, 0) == TrainResult(ok=True)
    assert TrainResult(ok=True).figure("confusion_matrix.png") is None


def test_a_success_line_with_a_failing_exit_code_is_not_a_success() -> None:
    outcome = parse_result(SUCCESS, 1)
    assert (outcome.ok, outcome.kind, outcome.message) == (False, "no_result", "exit code 1")
    assert parse_result(SUCCESS, -9).kind == "killed"
    assert parse_result({**SUCCESS, "ok": "yes"}, 0).kind == "no_result"


@pytest.mark.parametrize("kind", ERROR_KINDS)
def test_every_kind_is_read_as_it_is(kind: str) -> None:
    outcome = parse_result(failure(kind, f"{kind} went wrong"), EXIT_CODES[kind])
    assert (outcome.ok, outcome.kind, outcome.message) == (False, kind, f"{kind} went wrong")
    assert outcome.version is None and outcome.labels == ()


def test_an_unknown_kind_is_internal_and_the_exit_code_does_not_matter() -> None:
    assert parse_result(failure("gremlins", "x"), 2).kind == "internal"
    assert parse_result(failure("data", "x"), 0).kind == "data"
    assert parse_result({"ok": False, "error": {}}, 1).kind == "internal"


def test_problems_are_read_defensively() -> None:
    raw = [
        {"file": "/d/a.csv", "line": 3, "reason": "empty text"},
        {"file": "/d/a.csv", "line": "7", "reason": "empty label"},
        {"reason": "too few examples of 'x'"},
        "not a problem",
    ]
    outcome = parse_result(failure("data", "invalid training data", raw), 2)
    assert outcome.problems == (
        Problem("/d/a.csv", 3, "empty text"),
        Problem("/d/a.csv", 0, "empty label"),
        Problem("?", 0, "too few examples of 'x'"),
    )
    assert str(outcome.problems[0]) == "/d/a.csv:3: empty text"
    broken = {"ok": False, "error": {"kind": "data", "problems": "nope"}}
    assert parse_result(broken, 2).problems == ()


@pytest.mark.parametrize(
    "returncode,kind,message",
    [
        (-9, "killed", "SIGKILL"),
        (-2, "killed", "SIGINT"),
        (-15, "killed", "SIGTERM"),
        (-250, "killed", "signal 250"),
        (0, "no_result", "exit code 0"),
        (1, "no_result", "exit code 1"),
        (137, "no_result", "exit code 137"),
    ],
)
def test_without_json_the_exit_code_or_signal_says_it(
    returncode: int, kind: str, message: str
) -> None:
    outcome = parse_result(None, returncode)
    assert (outcome.ok, outcome.kind, outcome.message) == (False, kind, message)


@pytest.mark.parametrize(
    "kind,line",
    [
        ("base_model", "the base model cannot be loaded: no config.json in /base"),
        ("device", "the training device is not usable: no config.json in /base"),
        ("model", "the serving model could not be loaded to compare with: no config.json in /base"),
        (
            "usage",
            "the training arguments were refused (check HEED_RETRAIN_ARGS): "
            "no config.json in /base",
        ),
        ("internal", "training failed: no config.json in /base"),
    ],
)
def test_one_line_per_kind(kind: str, line: str) -> None:
    assert reason(failure(kind, "no config.json in /base"), EXIT_CODES[kind]) == line


@pytest.mark.parametrize(
    "message,line",
    [
        ("interrupted: no model version was written", "no model version was written"),
        ("", "no model version was written"),
        (
            "interrupted after writing model version 20260103-000000-cafe00 (now serving)",
            "after writing model version 20260103-000000-cafe00 (now serving)",
        ),
    ],
)
def test_an_interruption_keeps_what_the_cli_said_was_written(message: str, line: str) -> None:
    assert reason(failure("interrupted", message), 130) == f"training was interrupted: {line}"


def test_data_errors_name_the_first_problem_and_count_the_rest() -> None:
    one = [{"file": "/tmp/heed-x/train.csv", "line": 3, "reason": "empty text"}]
    assert reason(failure("data", "invalid training data", one), 2) == (
        "the training data is invalid: /tmp/heed-x/train.csv:3: empty text"
    )
    two = [*one, {"file": "b.csv", "line": 9, "reason": "empty label"}]
    assert reason(failure("data", "invalid training data", two), 2).endswith(
        "train.csv:3: empty text (and 1 more problem)"
    )
    three = [*two, {"file": "b.csv", "line": 12, "reason": "empty label"}]
    assert reason(failure("data", "invalid training data", three), 2).endswith(
        "(and 2 more problems)"
    )
    assert reason(failure("data", "no rows at all"), 2) == (
        "the training data is invalid: no rows at all"
    )


def test_rename_shows_the_corrections_export_by_its_name() -> None:
    tmp = "/tmp/heed-retrain-x1/heed-corrections.csv"
    problems = [{"file": tmp, "line": 2, "reason": "empty label"}]
    renamed = {tmp: "heed-corrections.csv"}
    assert reason(failure("data", "invalid", problems), 2, **renamed) == (
        "the training data is invalid: heed-corrections.csv:2: empty label"
    )
    assert reason(failure("internal", f"cannot read {tmp}"), 1, **renamed) == (
        "training failed: cannot read heed-corrections.csv"
    )


def test_killed_and_missing_results() -> None:
    assert reason(None, -9) == "training was killed by SIGKILL (out of memory?) before it finished"
    assert reason(None, 0) == "training ended without a result (exit code 0)"
    assert reason({"progress": 1}, 3) == "training ended without a result (exit code 3)"


def test_a_reason_is_one_short_line() -> None:
    long = failure("internal", "Traceback\n  File x\n" + "word " * 200)
    line = reason(long, 1)
    assert "\n" not in line and len(line) == MAX_REASON_CHARS and line.endswith("…")
    assert line.startswith("training failed: Traceback File x word")


def test_last_json_line(tmp_path: Path) -> None:
    path = tmp_path / "stdout.txt"
    path.write_text("progress text\n" + json.dumps(SUCCESS) + "\n\n  \n")
    assert last_json_line(path) == SUCCESS
    path.write_text(json.dumps(SUCCESS) + "\nTraceback: the last line is not JSON\n")
    assert last_json_line(path) is None
    path.write_text("[1, 2]\n")
    assert last_json_line(path) is None
    path.write_bytes(b'{"ok": false, "error": {"kind": "data", "message": "\xff"}}\n')
    assert last_json_line(path)["error"]["kind"] == "data"
    path.write_text("")
    assert last_json_line(path) is None
    assert last_json_line(tmp_path / "missing.txt") is None


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
