"""A job while it runs and how it ended: the fields the reports are drawn from."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.retrain.contract import TrainResult
from bot.retrain.jobs import Job, JobAlreadyRunning, JobResult, describe_progress
from classifier.exports import Problem

V2 = "20260102-000000-bcdef0"


def job(tmp_path: Path, **kw) -> Job:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], text=True)
    proc.wait()
    fields = {
        "id": 5,
        "requested_by": "UADMIN",
        "started": datetime(2026, 1, 2, 12, 0, 7, tzinfo=UTC),
        "proc": proc,
        "workdir": tmp_path,
        "corrections": None,
        "corrections_rows": 0,
        "serving_before": "v1",
    }
    return Job(**{**fields, **kw})


def test_a_succeeded_result_sums_up_the_run() -> None:
    train = TrainResult(True, version=V2, accuracy=0.75, macro_f1=0.5, promotion_reason="worse")
    result = JobResult(3, "succeeded", train)
    assert result.succeeded
    assert result.summary() == f"trained {V2}: accuracy 0.750, macro-F1 0.500; not promoted (worse)"


def test_a_failed_result_has_no_version_and_says_why() -> None:
    result = JobResult(4, "timed_out", TrainResult(False, "killed", "SIGKILL"), "timed out")
    assert not result.succeeded and result.train.version is None
    assert result.summary() == "timed out: timed out"


def test_a_job_is_done_once_finished(tmp_path: Path) -> None:
    running = job(tmp_path)
    assert not running.done and running.wait(0.01) is None
    assert running.progress_text().startswith("starting")
    result = JobResult(5, "cancelled", TrainResult(False, "killed", "SIGINT"), "cancelled")
    threading.Timer(0.05, running.finish, args=(result,)).start()
    assert running.wait(5) is result and running.done
    refused = JobAlreadyRunning(running.view())
    assert refused.job == running.view()
    assert str(refused) == (
        "a retraining job is already running (job 5, requested by UADMIN at 12:00:07 UTC)"
    )


def test_how_an_ended_child_is_worded(tmp_path: Path) -> None:
    corrections = tmp_path / "work" / "heed-corrections.jsonl"
    failed = TrainResult(False, "data", "bad", (Problem(str(corrections), 2, "empty label"),))
    ended = job(tmp_path, corrections=corrections, corrections_rows=3).ended(failed, "v1", 60)
    assert (ended.status, ended.corrections_rows) == ("failed", 3)
    assert ended.reason == "the training data is invalid: heed-corrections.jsonl:2: empty label"
    stopped = job(tmp_path, stop_reason="timed_out")
    ended = stopped.ended(TrainResult(False, "killed", "SIGINT"), "v2", 60)
    assert ended.status == "timed_out"
    assert ended.reason == (
        "timed out after 60s; training was stopped; it had already promoted v2 before it stopped"
    )
    lost = job(tmp_path, stop_reason="lost_lease").ended(TrainResult(False, "killed"), "v1", 60)
    assert lost.status == "failed" and lost.reason.endswith("; the serving model is unchanged")
    done = job(tmp_path, stop_reason="cancelled").ended(TrainResult(True, version=V2), V2, 60)
    assert done.succeeded  # finished before the stop signal landed: the version is real


def test_progress_text() -> None:
    start = {"event": "start", "epochs": 2, "total_steps": 10, "train_rows": 80, "eval_rows": 20}
    step = {"event": "step", "epoch": 1, "step": 3, "total_steps": 10, "loss": 0.69, "lr": 1e-4}
    epoch = {"event": "epoch", "epoch": 1, "accuracy": 0.8, "macro_f1": 0.75, "best": True}
    assert describe_progress(None).startswith("starting")
    assert describe_progress(start, start) == (
        "training on 80 rows, evaluating on 20: 2 epochs, 10 steps"
    )
    assert describe_progress(step, start) == "epoch 1/2 · step 3/10 (30%) · loss 0.690"
    assert describe_progress(epoch, start).endswith("macro-F1 0.750 (best so far)")


def test_progress_text_before_the_start_event_and_for_other_events() -> None:
    step = {"event": "step", "epoch": 1, "step": 3, "loss": 0.5}
    assert describe_progress(step) == "epoch 1 · step 3/0 · loss 0.500"
    epoch = {"event": "epoch", "epoch": 2, "accuracy": 0.5, "macro_f1": 0.4}
    assert describe_progress(epoch) == "epoch 2 evaluated: accuracy 0.500, macro-F1 0.400"
    assert describe_progress({"event": "saving"}) == "saving"
