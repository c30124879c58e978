"""The training CLI's JSON outcome as the bot reads it: one line for an admin per error kind,
chosen by the kind (never by the wording), and the exit code or signal when there is no JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.retrain.contract import (
    ERROR_KINDS,
    MAX_REASON_CHARS,
    Problem,
    TrainingOutcome,
    failure_reason,
    last_json_line,
    read_outcome,
)

SUCCESS = {
    "ok": True,
    "version": "20260103-000000-cafe00",
    "path": "/models/20260103-000000-cafe00",
    "labels": ["negative", "positive"],
    "metrics": {"accuracy": 0.9, "macro_f1": 0.8},
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
    outcome = read_outcome(payload, returncode)
    assert not outcome.ok
    return failure_reason(outcome, rename or None)


def test_success_is_the_whole_result() -> None:
    outcome = read_outcome(SUCCESS, 0)
    assert outcome == TrainingOutcome(ok=True, result=SUCCESS)
    assert outcome.kind is None and outcome.problems == ()


def test_a_success_line_with_a_failing_exit_code_is_not_a_success() -> None:
    outcome = read_outcome(SUCCESS, 1)
    assert (outcome.ok, outcome.kind, outcome.message) == (False, "no_result", "exit code 1")
    assert read_outcome(SUCCESS, -9).kind == "killed"
    assert read_outcome({**SUCCESS, "ok": "yes"}, 0).kind == "no_result"


@pytest.mark.parametrize("kind", ERROR_KINDS)
def test_every_kind_is_read_as_it_is(kind: str) -> None:
    outcome = read_outcome(failure(kind, f"{kind} went wrong"), EXIT_CODES[kind])
    assert (outcome.ok, outcome.kind, outcome.message) == (False, kind, f"{kind} went wrong")
    assert outcome.result == {}


def test_an_unknown_kind_is_internal_and_the_exit_code_does_not_matter() -> None:
    assert read_outcome(failure("gremlins", "x"), 2).kind == "internal"
    assert read_outcome(failure("data", "x"), 0).kind == "data"
    assert read_outcome({"ok": False, "error": {}}, 1).kind == "internal"


def test_problems_are_read_defensively() -> None:
    raw = [
        {"file": "/d/a.csv", "line": 3, "reason": "empty text"},
        {"file": "/d/a.csv", "line": "7", "reason": "empty label"},
        {"reason": "too few examples of 'x'"},
        "not a problem",
    ]
    outcome = read_outcome(failure("data", "invalid training data", raw), 2)
    assert outcome.problems == (
        Problem("/d/a.csv", 3, "empty text"),
        Problem("/d/a.csv", 0, "empty label"),
        Problem("?", 0, "too few examples of 'x'"),
    )
    assert str(outcome.problems[0]) == "/d/a.csv:3: empty text"
    broken = {"ok": False, "error": {"kind": "data", "problems": "nope"}}
    assert read_outcome(broken, 2).problems == ()


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
    outcome = read_outcome(None, returncode)
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
