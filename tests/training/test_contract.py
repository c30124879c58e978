"""The ``--json`` failure contract of ``python -m training``: one JSON line per outcome.

Each failure kind gets its JSON object and its own exit code; nothing is written to the store.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from classifier.exports import Problem
from classifier.store import ModelStore
from tests.conftest import REPO, last_json, make_rows, write_csv
from training import contract
from training.__main__ import main as training_main

TINY_ARGS = ["--epochs", "1", "--batch-size", "8", "--max-length", "32"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    """``main(args + --json)``: the exit code, the last stdout line as JSON, and stderr."""
    code = training_main([*map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 1, out  # exactly one line: the outcome
    return code, last_json(out), err


def assert_failure(code: int, result: dict, kind: str) -> dict:
    assert result["ok"] is False
    error = result["error"]
    assert set(error) == {"kind", "message", "problems"}
    assert error["kind"] == kind
    assert code == contract.EXIT_CODES[kind]
    assert error["message"] and "\n" not in error["message"]
    assert "Traceback" not in error["message"]
    if kind != contract.DATA:
        assert error["problems"] == []
    return error


def assert_store_untouched(store_dir: Path) -> None:
    if store_dir.exists():
        assert ModelStore(store_dir).versions() == []
        assert [p.name for p in store_dir.iterdir() if p.name.startswith(".staging")] == []


def test_exit_codes_are_distinct_and_documented() -> None:
    codes = contract.EXIT_CODES
    assert len(set(codes.values())) == len(codes) == 7
    assert codes == {
        "internal": 1,
        "data": 2,
        "base_model": 3,
        "device": 4,
        "model": 5,
        "usage": 64,
        "interrupted": 130,
    }
    for kind, code in codes.items():
        assert f"``{kind}``" in contract.__doc__ and f" {code} " in contract.__doc__


def test_data_failure_lists_every_problem_with_file_and_line(
    capsys, tiny_base, store_dir, tmp_path
) -> None:
    first = tmp_path / "one.csv"
    first.write_text("text,label\nfine,a\n" + "x,\n" * 25, encoding="utf-8")
    second = tmp_path / "two.csv"
    second.write_text("text,category\nhi,a\n", encoding="utf-8")
    code, result, err = run(capsys, "train", "--data", first, second, "--base", tiny_base)
    error = assert_failure(code, result, "data")
    assert error["message"] == "invalid training data (26 problems); nothing was written"
    assert len(error["problems"]) == 26  # all of them, not the first 20
    assert error["problems"][0] == {"file": str(first), "line": 3, "reason": "empty label"}
    assert error["problems"][-1] == {
        "file": str(second),
        "line": 1,
        "reason": "missing column 'label' (found: text, category)",
    }
    assert "error: invalid training data, nothing was written:" in err  # people still read it
    assert_store_untouched(store_dir)


def test_eval_label_unseen_in_training_is_a_data_failure(
    capsys, tiny_base, store_dir, tmp_path
) -> None:
    train_file = write_csv(tmp_path / "t.csv", [("a b", "x"), ("c d", "y")] * 3)
    eval_file = write_csv(tmp_path / "e.csv", [("a b", "x"), ("q", "z")])
    args = ["train", "--data", train_file, "--eval-data", eval_file, "--base", tiny_base]
    code, result, _ = run(capsys, *args)
    error = assert_failure(code, result, "data")
    reason = "eval label 'z' never appears in the training rows"
    assert error["problems"] == [{"file": str(eval_file), "line": 3, "reason": reason}]


@pytest.mark.parametrize(
    ("base", "says"),
    [
        ("/nonexistent/heed-base", "neither a directory nor a hub id"),
        ("{empty_dir}", "has no config.json"),
        ("heed-tests/not-in-the-cache", "cannot load base model heed-tests/not-in-the-cache"),
        ("current", "no model is serving"),
        ("20990101-000000-abcdef", "unknown model"),
    ],
)
def test_base_model_failure(capsys, store_dir, export, tmp_path, base, says) -> None:
    (tmp_path / "empty").mkdir()
    base = base.format(empty_dir=tmp_path / "empty")
    code, result, _ = run(capsys, "train", "--data", export, "--base", base, *TINY_ARGS)
    assert says in assert_failure(code, result, "base_model")["message"]
    assert_store_untouched(store_dir)


def test_missing_embedded_base_package_is_a_base_model_failure(
    capsys, store_dir, export, monkeypatch
) -> None:
    def no_package(name: str) -> Path:
        raise ModuleNotFoundError(name)

    monkeypatch.delenv("HEED_BASE_MODEL", raising=False)
    monkeypatch.setattr("classifier.base_model.files", no_package)
    code, result, _ = run(capsys, "train", "--data", export, *TINY_ARGS)
    error = assert_failure(code, result, "base_model")
    assert "embedded base model package is not installed" in error["message"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_on_a_cpu_machine_is_a_device_failure(capsys, tiny_base, store_dir, export) -> None:
    args = ["train", "--data", export, "--base", tiny_base, "--device", "cuda"]
    code, result, _ = run(capsys, *args)
    assert "CUDA is not available" in assert_failure(code, result, "device")["message"]


def test_unknown_device_and_out_of_memory_are_device_failures(
    capsys, tiny_base, store_dir, export, monkeypatch
) -> None:
    code, result, _ = run(capsys, "evaluate", "--data", export, "--device", "tpu")
    assert "unknown device 'tpu'" in assert_failure(code, result, "device")["message"]

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("training.pipeline.train", out_of_memory)
    code, result, _ = run(capsys, "train", "--data", export, "--base", tiny_base)
    error = assert_failure(code, result, "device")
    assert error["message"].startswith("CUDA out of memory")
    assert_store_untouched(store_dir)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--lr", "5"], "--lr must be between 0 and 1"),
        (["--logit-adjustment", "-1"], "--logit-adjustment must be between 0 and 10"),
        (["--logit-adjustment", "nan"], "--logit-adjustment must be between 0 and 10"),
        (["--epochs", "x"], "invalid int value: 'x'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--epoch", "1"], "unrecognized arguments: --epoch"),  # no abbreviations
        (["--no-data"], "one of the arguments --data --bundled-sample is required"),
        (["--bundled-sample"], "argument --bundled-sample: not allowed with argument --data"),
    ],
)
def test_usage_failure(capsys, tiny_base, store_dir, export, args, says) -> None:
    data = [] if args == ["--no-data"] else ["--data", export]
    args = [] if args == ["--no-data"] else args
    code, result, err = run(capsys, "train", *data, "--base", tiny_base, *args)
    assert says in assert_failure(code, result, "usage")["message"]
    assert says in err
    assert_store_untouched(store_dir)


def test_evaluate_missing_model_is_a_model_failure(capsys, store_dir, export) -> None:
    code, result, _ = run(capsys, "evaluate", "--data", export, "--model", "nope")
    assert "unknown model 'nope'" in assert_failure(code, result, "model")["message"]
    code, result, _ = run(capsys, "evaluate", "--data", export)
    assert "no model is serving" in assert_failure(code, result, "model")["message"]


def test_evaluate_bad_data_is_a_data_failure(capsys, tiny_model, store_dir, tmp_path) -> None:
    bad = write_csv(tmp_path / "bad.csv", [("hi", "a")], header=("text", "category"))
    code, result, _ = run(capsys, "evaluate", "--data", bad, "--model", tiny_model)
    error = assert_failure(code, result, "data")
    assert error["message"].startswith("invalid evaluation data (1 problem)")
    assert error["problems"][0]["file"] == str(bad)


def test_unexpected_exception_is_internal_and_logs_the_traceback(
    capsys, caplog, tiny_base, store_dir, export, monkeypatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("training.pipeline.train", boom)
    with caplog.at_level(logging.ERROR):
        code, result, err = run(capsys, "train", "--data", export, "--base", tiny_base)
    error = assert_failure(code, result, "internal")
    assert error["message"] == "internal error: RuntimeError: boom; second line"
    assert "error: internal error: RuntimeError: boom" in err
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and logged[-1].exc_info[0] is RuntimeError
    assert_store_untouched(store_dir)


def test_interrupt_while_writing_the_version_leaves_nothing(
    capsys, tiny_base, store_dir, export, monkeypatch
) -> None:
    def interrupt(*args: object, **kwargs: object) -> bytes:
        raise KeyboardInterrupt

    # The confusion matrix is drawn inside the staging directory, after the weights.
    monkeypatch.setattr("training.pipeline.confusion_matrix_png", interrupt)
    code, result, _ = run(capsys, "train", "--data", export, "--base", tiny_base, *TINY_ARGS)
    error = assert_failure(code, result, "interrupted")
    assert error["message"] == "interrupted: no model version was written"
    assert store_dir.is_dir()  # the store was being written to
    assert_store_untouched(store_dir)


def test_interrupt_after_the_version_is_published_says_so(
    capsys, tiny_base, store_dir, export, monkeypatch
) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("training.pipeline.promotion_decision", interrupt)
    args = ["train", "--data", export, "--base", tiny_base, *TINY_ARGS, "--promote"]
    code, result, _ = run(capsys, *args)
    error = assert_failure(code, result, "interrupted")
    (version,) = ModelStore(store_dir).versions()
    assert error["message"] == f"interrupted after writing model version {version} (not promoted)"


def test_sigterm_is_handled_like_ctrl_c(capsys, tiny_base, store_dir, export, monkeypatch):
    before = signal.getsignal(signal.SIGTERM)

    def terminate(self: object, **event: object) -> None:
        # Only raise the signal once the CLI handles it: otherwise it would end pytest.
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr("training.progress.Progress.step", terminate)
    code, result, _ = run(capsys, "train", "--data", export, "--base", tiny_base, *TINY_ARGS)
    error = assert_failure(code, result, "interrupted")
    assert error["message"] == "interrupted: no model version was written"
    assert signal.getsignal(signal.SIGTERM) is before  # restored for whoever runs main()
    assert_store_untouched(store_dir)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Started with SIGINT ignored: what a shell does to a background job (``nohup … &``), and what
# its children inherit; training must still stop on SIGINT.
@pytest.mark.parametrize("started_ignoring_sigint", [False, True])
def test_sigint_to_the_real_process_mid_training(
    tiny_base, store_dir, tmp_path, started_ignoring_sigint
) -> None:
    data = write_csv(tmp_path / "d.csv", make_rows(30))
    cmd = [sys.executable, "-m", "training", "train", "--data", str(data)]
    cmd += ["--base", str(tiny_base), "--epochs", "500", "--batch-size", "8"]
    cmd += ["--max-length", "32", "--promote", "--progress", "jsonl", "--json"]
    env = {**os.environ, "HEED_MODEL_DIR": str(store_dir)}
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if started_ignoring_sigint else None,
    )
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("{") and json.loads(line).get("event") == "step":
                break
        assert proc.poll() is None, "".join(seen)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(out.strip().splitlines()) == 1, out
    error = assert_failure(proc.returncode, last_json(out), "interrupted")
    assert error["message"] == "interrupted: no model version was written"
    assert "Traceback" not in err
    assert_store_untouched(store_dir)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--base", "/nonexistent/heed-base"], 3, "error: base model '/nonexistent/heed-base'"),
        (["--device", "tpu"], 4, "error: unknown device 'tpu'"),
        (["--epochs", "0"], 64, "error: --epochs must be at least 1"),
        (["--bogus"], 64, "python -m training: error: unrecognized arguments: --bogus"),
    ],
)
def test_without_json_the_same_codes_and_plain_stderr(
    capsys, store_dir, export, args, code, says
) -> None:
    assert training_main(["train", "--data", str(export), *args]) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert says in err


def test_failure_objects() -> None:
    problems = [Problem("a.csv", 3, "empty text")]
    assert contract.failure("data", "bad\ndata", problems) == {
        "ok": False,
        "error": {
            "kind": "data",
            "message": "bad; data",
            "problems": [{"file": "a.csv", "line": 3, "reason": "empty text"}],
        },
    }
    assert contract.success({"version": "v"}) == {"ok": True, "version": "v"}
    with pytest.raises(ValueError, match="unknown failure kind"):
        contract.failure("oops", "x")
    assert contract.one_line("Stopped.\n\n  Try again\nlater") == "Stopped. Try again; later"
