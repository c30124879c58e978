"""RetrainRunner: the training CLI in a child process, one job at a time, progress and outcome."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from bot.feedback import FeedbackStore
from bot.retrain import (
    JobAlreadyRunning,
    JobResult,
    RetrainError,
    RetrainRunner,
    Throttle,
    describe_progress,
)
from classifier.store import ModelStore
from tests.conftest import make_rows, write_csv

WAIT_S = 120


@pytest.fixture
def feedback(tmp_path: Path) -> FeedbackStore:
    store = FeedbackStore(tmp_path / "data" / "heed.sqlite3")
    yield store
    store.close()


def fake_version(store: ModelStore) -> str:
    """A version that is never loaded: enough to be ``current`` for jobs that must not touch it."""
    with store.new_version() as (version, staging):
        (staging / "config.json").write_text("{}")
        (staging / "model.safetensors").write_bytes(b"x")
    store.promote(version)
    return version


def fake_python(tmp_path: Path, body: str) -> str:
    """An executable standing in for ``python -m training train`` (ignores its arguments)."""
    path = tmp_path / "fake-python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def group_gone(pgid: int, within_s: float = 10.0) -> bool:
    """True once no process is left in the group (orphans are reaped by init, so poll)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def runner_for(tmp_path, store_dir, feedback, data, tiny_base=None, **kwargs) -> RetrainRunner:
    extra = ("--base", str(tiny_base), "--epochs", "1", "--max-length", "32") if tiny_base else ()
    kwargs.setdefault("timeout_s", WAIT_S)
    return RetrainRunner(store_dir, data, feedback, extra_args=extra, **kwargs)


def test_job_trains_promotes_and_reports(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore, tiny_base: Path
) -> None:
    export = write_csv(tmp_path / "export.csv", make_rows(10))
    for text, label in make_rows(2, seed=7):  # 6 answered predictions
        pid = feedback.record_prediction(text=text, label="neutral", model_version="v0")
        feedback.record_feedback(pid, "UMOD", label)
    events: list[dict] = []
    done: list[JobResult] = []
    runner = runner_for(tmp_path, store_dir, feedback, [export], tiny_base)

    job = runner.start("UADMIN", events.append, done.append)
    with pytest.raises(JobAlreadyRunning) as refused:
        runner.start("UOTHER", events.append, done.append)
    assert refused.value.job is job
    assert feedback.running_job().id == job.id
    assert job.corrections_rows == 6
    assert job.data_files[-1].name == "heed-corrections.csv"

    result = job.wait(WAIT_S)
    assert result is not None and done == [result]
    assert result.status == "succeeded", result.reason
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and "step" in kinds and kinds[-1] == "epoch"
    assert events[0]["train_rows"] + events[0]["eval_rows"] == 30 + 6
    assert job.last_progress == events[-1]

    store = ModelStore(store_dir)
    assert store.versions() == [result.version]
    assert store.current() == result.version
    assert result.promoted and result.promotion_reason == "first model in the store"
    assert (result.serving_before, result.serving_after) == (None, result.version)
    assert result.labels == ["negative", "neutral", "positive"]
    assert set(result.metrics) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    assert set(result.metrics["per_class"]) == set(result.labels)
    assert result.confusion_matrix_png == store_dir / result.version / "confusion_matrix.png"
    assert result.confusion_matrix_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.summary().startswith(f"trained {result.version}: accuracy")

    meta = store.metadata(result.version)
    assert [Path(d["path"]).name for d in meta["data"]] == ["export.csv", "heed-corrections.csv"]
    assert not job.data_files[-1].exists()  # the temporary export is cleaned up

    row = feedback.job(job.id)
    assert (row.status, row.version, row.promoted) == ("succeeded", result.version, True)
    assert row.metrics["macro_f1"] == result.metrics["macro_f1"]
    assert row.finished is not None and feedback.running_job() is None
    assert runner.current_job() is None


def test_bad_export_fails_in_one_line_and_changes_nothing(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore, tiny_base: Path
) -> None:
    store = ModelStore(store_dir)
    serving = fake_version(store)
    bad = write_csv(tmp_path / "bad.csv", make_rows(5), header=("text", "category"))
    runner = runner_for(tmp_path, store_dir, feedback, [bad], tiny_base)

    result = runner.start("UADMIN").wait(WAIT_S)
    assert result.status == "failed"
    assert result.reason.startswith(f"{bad}:1: missing column 'label'")
    assert "\n" not in result.reason and "Traceback" not in result.reason
    assert result.problems == [result.reason]
    assert result.returncode == 2
    assert store.current() == serving and store.versions() == [serving]
    assert feedback.recent_jobs(1)[0].status == "failed"
    assert feedback.recent_jobs(1)[0].message == result.reason


def test_timeout_kills_the_job_and_changes_nothing(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore, tiny_base: Path
) -> None:
    store = ModelStore(store_dir)
    serving = fake_version(store)
    export = write_csv(tmp_path / "export.csv", make_rows(10))
    runner = runner_for(
        tmp_path, store_dir, feedback, [export], tiny_base, timeout_s=1.0, kill_grace_s=1.0
    )
    job = runner.start("UADMIN")
    result = job.wait(WAIT_S)
    assert result.status == "timed_out"
    assert result.reason.startswith("timed out after 1s")
    assert result.reason.endswith("the serving model is unchanged")
    assert group_gone(job.pid)
    assert store.current() == serving and store.versions() == [serving]
    assert feedback.job(job.id).status == "timed_out"


def test_stubborn_process_group_is_killed(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore
) -> None:
    # Ignores SIGINT and leaves a grandchild: the whole group must still die. (The stand-in
    # says when its trap is set: a SIGINT that came earlier would simply end it.)
    ready = tmp_path / "trap-set"
    python = fake_python(tmp_path, f"trap '' INT\ntouch {ready}\nsleep 60 &\nsleep 60")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(
        tmp_path, store_dir, feedback, [export], python=python, timeout_s=30, kill_grace_s=0.3
    )
    job = runner.start("UADMIN")
    deadline = time.monotonic() + 10
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.cancel() is True
    result = job.wait(30)
    assert result.status == "cancelled" and result.returncode == -9
    assert group_gone(job.pid)
    assert runner.cancel() is False


def test_crash_reason_is_the_last_line_not_the_traceback(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore
) -> None:
    python = fake_python(
        tmp_path,
        """echo '{"event": "start", "epochs": 1, "total_steps": 2}' >&2
echo 'Traceback (most recent call last):' >&2
echo '  File "finetune.py", line 9, in train' >&2
echo 'RuntimeError: CUDA out of memory' >&2
exit 1""",
    )
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    events: list[dict] = []
    runner = runner_for(tmp_path, store_dir, feedback, [export], python=python)
    result = runner.start("UADMIN", events.append).wait(30)
    assert (result.status, result.reason) == ("failed", "RuntimeError: CUDA out of memory")
    assert [e["event"] for e in events] == ["start"]


def test_success_without_result_json_is_a_failure(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore
) -> None:
    python = fake_python(tmp_path, "echo not json\nexit 0")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(tmp_path, store_dir, feedback, [export], python=python)
    result = runner.start("UADMIN").wait(30)
    assert result.status == "failed" and "result" in result.reason


def test_command_includes_corrections_only_when_there_are_some(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore
) -> None:
    # The stand-in records its arguments and keeps a copy of the corrections file it was given.
    python = fake_python(
        tmp_path,
        f"""printf '%s\\n' "$@" > {tmp_path}/args.txt
for a in "$@"; do case "$a" in *corrections.csv) cp "$a" {tmp_path}/seen.csv;; esac; done
echo '{{"version": "v", "promoted": false, "promotion": {{"reason": "worse"}}}}'""",
    )
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(tmp_path, store_dir, feedback, [export], python=python, base="current")
    expected = ["-m", "training", "train", "--data", str(export), "--base", "current"]
    expected += ["--promote", "--progress", "jsonl", "--json"]

    result = runner.start("UADMIN").wait(30)
    assert result.status == "succeeded" and not result.promoted
    assert result.promotion_reason == "worse"
    assert (tmp_path / "args.txt").read_text().splitlines() == expected

    pid = feedback.record_prediction(text='so "nice", really', label="neutral")
    feedback.record_feedback(pid, "UMOD", "positive")
    assert runner.start("UADMIN").wait(30).status == "succeeded"
    args = (tmp_path / "args.txt").read_text().splitlines()
    assert args[:5] == expected[:5] and args[6:] == expected[5:]
    assert Path(args[5]).name == "heed-corrections.csv"
    assert (tmp_path / "seen.csv").read_text() == 'text,label\n"so ""nice"", really",positive\n'


def test_nothing_to_train_on(tmp_path: Path, store_dir: Path, feedback: FeedbackStore) -> None:
    runner = RetrainRunner(store_dir, [], feedback, timeout_s=10)
    with pytest.raises(RetrainError, match="nothing to train on"):
        runner.start("UADMIN")
    assert feedback.recent_jobs(5) == [] and runner.current_job() is None


def test_stale_running_jobs_are_failed_at_start_up(
    store_dir: Path, feedback: FeedbackStore
) -> None:
    stale = feedback.start_job("retrain", "UADMIN")
    RetrainRunner(store_dir, [], feedback, timeout_s=10)
    assert feedback.job(stale.id).status == "failed"


def test_throttle_and_progress_text() -> None:
    now = [0.0]
    throttle = Throttle(3.0, clock=lambda: now[0])
    assert throttle.ready()
    now[0] = 1.0
    assert not throttle.ready()
    assert throttle.ready(force=True)
    now[0] = 3.5
    assert not throttle.ready()
    now[0] = 4.0
    assert throttle.ready()

    start = {"event": "start", "epochs": 2, "total_steps": 10, "train_rows": 80, "eval_rows": 20}
    step = {"event": "step", "epoch": 1, "step": 3, "total_steps": 10, "loss": 0.69, "lr": 1e-4}
    epoch = {"event": "epoch", "epoch": 1, "accuracy": 0.8, "macro_f1": 0.75, "best": True}
    assert describe_progress(None).startswith("starting")
    assert "80 rows" in describe_progress(start, start)
    assert describe_progress(step, start) == "epoch 1/2 · step 3/10 (30%) · loss 0.690"
    assert describe_progress(epoch, start).endswith("macro-F1 0.750 (best so far)")


def test_callbacks_run_off_the_caller_thread_and_errors_are_contained(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore
) -> None:
    python = fake_python(tmp_path, """echo '{"event": "step", "step": 1}' >&2\nexit 3""")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    threads: list[str] = []

    def boom(event: dict) -> None:
        threads.append(threading.current_thread().name)
        raise ValueError("callback bug")

    runner = runner_for(tmp_path, store_dir, feedback, [export], python=python)
    result = runner.start("UADMIN", boom, lambda r: threads.append("done")).wait(30)
    assert result.status == "failed" and result.reason == "training exited with code 3"
    assert threads[0].startswith("heed-retrain-") and threads[-1] == "done"


def test_exports_dir_keeps_each_jobs_corrections(
    tmp_path: Path, store_dir: Path, feedback: FeedbackStore
) -> None:
    python = fake_python(tmp_path, "exit 2")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    feedback.record_feedback(feedback.record_prediction(text="meh", label="neutral"), "U", "bad")
    kept = tmp_path / "exports"
    runner = runner_for(tmp_path, store_dir, feedback, [export], python=python, exports_dir=kept)
    job = runner.start("UADMIN")
    assert job.wait(30).status == "failed"
    assert job.data_files[-1].parent == kept
    assert job.data_files[-1].read_text() == "text,label\nmeh,bad\n"


def test_child_gets_no_slack_credentials(tmp_path, monkeypatch) -> None:
    from bot.feedback import FeedbackStore
    from bot.retrain import RetrainRunner

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-secret")
    with FeedbackStore(tmp_path / "db.sqlite3") as store:
        runner = RetrainRunner(tmp_path / "models", [], store, timeout_s=5)
        env = runner._child_env()
    assert not any(key.startswith("SLACK_") for key in env)
    assert env["HEED_MODEL_DIR"] == str(tmp_path / "models")
