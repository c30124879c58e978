"""RetrainRunner: the training CLI in a child process, one job at a time, its progress, and its
outcome read from the CLI's last JSON line (never from its stderr wording).

Some tests run the real training CLI on the tiny model; the others stand in for it with a small
shell script that prints what the CLI would (progress on stderr, one JSON object on stdout)."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.database import Database
from bot.retrain.jobs import JobAlreadyRunning, JobResult, RetrainError
from bot.retrain.runner import CORRECTIONS_FILENAME, RetrainRunner, child_env
from classifier.exports import Problem
from classifier.store import ModelStore
from tests.conftest import make_rows, write_csv

WAIT_S = 120


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "data" / "heed.sqlite3")
    yield database
    database.close()


def fake_version(store: ModelStore) -> str:
    """A version that is never loaded: enough to be ``current`` for jobs that must not touch it."""
    with store.new_version() as (version, staging):
        (staging / "config.json").write_text("{}")
        (staging / "model.safetensors").write_bytes(b"x")
    store.promote(version)
    return version


def fake_python(tmp_path: Path, body: str) -> str:
    """An executable standing in for ``python -m training train`` (its arguments are ``$@``)."""
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


def runner_for(
    store_dir: Path, db: Database, data: list[Path], tiny_base: Path | None = None, **kwargs
) -> RetrainRunner:
    extra = ("--base", str(tiny_base), "--epochs", "1", "--max-length", "32") if tiny_base else ()
    kwargs.setdefault("timeout_s", WAIT_S)
    return RetrainRunner(store_dir, data, db, extra_args=extra, **kwargs)


def prints(payload: dict, code: int = 0) -> str:
    """Shell lines that end a stand-in run like the CLI: one JSON line on stdout, an exit code."""
    return f"printf '%s\\n' {shlex.quote(json.dumps(payload))}\nexit {code}"


def failure(kind: str, message: str, problems: list[dict] | None = None) -> dict:
    return {"ok": False, "error": {"kind": kind, "message": message, "problems": problems or []}}


def answer(db: Database, text: str, label: str, predicted: str = "neutral") -> None:
    """A /classify prediction someone answered: one labelled row."""
    pid = db.predictions.record(text=text, label=predicted, model_version="v0")
    db.predictions.record_answer(pid, "UMOD", label, role="labeler")


# -- the real training CLI on the tiny model --------------------------------------------------


def test_job_trains_promotes_and_reports(
    tmp_path: Path, store_dir: Path, db: Database, tiny_base: Path
) -> None:
    export = write_csv(tmp_path / "export.csv", make_rows(10))
    for text, label in make_rows(2, seed=7):  # 6 answered predictions
        answer(db, text, label)
    events: list[dict] = []
    done: list[JobResult] = []
    runner = runner_for(store_dir, db, [export], tiny_base)

    job = runner.start("UADMIN", events.append, done.append)
    with pytest.raises(JobAlreadyRunning) as refused:
        runner.start("UOTHER", events.append, done.append)
    assert refused.value.job == job.view() and runner.current_job() is job
    [running] = db.jobs.recent()
    assert (running.id, running.status, running.requested_by) == (job.id, "running", "UADMIN")
    assert job.corrections_rows == 6
    assert job.corrections.name == CORRECTIONS_FILENAME

    result = job.wait(WAIT_S)
    assert result is not None and done == [result]
    assert result.status == "succeeded", result.reason
    assert result.train.ok and result.reason is None
    assert result.corrections_rows == 6 and result.seconds > 0
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and "step" in kinds and kinds[-1] == "epoch"
    assert events[0]["train_rows"] + events[0]["eval_rows"] == 30 + 6
    assert job.last_progress == events[-1] and job.start_event == events[0]

    store = ModelStore(store_dir)
    assert store.versions() == [result.train.version]
    assert store.current() == result.train.version
    assert result.train.promoted and result.train.promotion_reason == "first model in the store"
    assert result.train.labels == ("negative", "neutral", "positive")
    assert result.train.accuracy > 0 and len(result.train.confusion_matrix) == 3
    assert set(result.train.per_class) == set(result.train.labels)
    png = result.train.figure("confusion_matrix.png")
    assert png == store_dir / result.train.version / "confusion_matrix.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reliability = result.train.figure("reliability_diagram.png")
    assert reliability == store_dir / result.train.version / "reliability_diagram.png"
    assert result.train.temperature == store.metadata(result.train.version)["temperature"]
    assert result.summary().startswith(f"trained {result.train.version}: accuracy")

    meta = store.metadata(result.train.version)
    assert [Path(d["path"]).name for d in meta["data"]] == ["export.csv", CORRECTIONS_FILENAME]
    assert not job.corrections.exists()  # the temporary export is cleaned up

    row = db.jobs.get(job.id)
    assert (row.status, row.version, row.promoted) == ("succeeded", result.train.version, True)
    assert row.metrics["macro_f1"] == result.train.macro_f1
    assert row.metrics["labels"] == list(result.train.labels)
    assert row.message == "first model in the store"
    assert row.finished is not None and row.status != "running"
    assert runner.current_job() is None


def test_a_launcher_runs_training_on_two_processes(
    tmp_path: Path, store_dir: Path, db: Database, tiny_base: Path
) -> None:
    """HEED_TRAIN_LAUNCHER: torchrun in front of ``-m training train``; rank 0 alone reports
    progress and the one JSON outcome, and the version is promoted as from one process."""
    export = write_csv(tmp_path / "export.csv", make_rows(10))
    torchrun = (sys.executable, "-m", "torch.distributed.run", "--standalone")
    runner = runner_for(
        store_dir, db, [export], tiny_base, launcher=(*torchrun, "--nproc-per-node", "2")
    )
    command = runner.command(runner.request(None))
    assert command[:8] == [*torchrun, "--nproc-per-node", "2", "-m", "training"]
    events: list[dict] = []
    result = runner.start("UADMIN", events.append).wait(WAIT_S)
    assert result is not None and result.status == "succeeded", result.reason
    assert [e["event"] for e in events].count("start") == 1
    store = ModelStore(store_dir)
    assert store.versions() == [result.train.version] == [store.current()]
    assert store.metadata(result.train.version)["processes"] == 2


def test_bad_export_fails_in_one_line_and_changes_nothing(
    tmp_path: Path, store_dir: Path, db: Database, tiny_base: Path
) -> None:
    store = ModelStore(store_dir)
    serving = fake_version(store)
    bad = write_csv(tmp_path / "bad.csv", make_rows(5), header=("text", "category"))
    runner = runner_for(store_dir, db, [bad], tiny_base)

    result = runner.start("UADMIN").wait(WAIT_S)
    assert (result.status, result.train.kind) == ("failed", "data")
    assert result.reason.startswith(
        f"the training data is invalid: {bad}:1: missing column 'label'"
    )
    assert "\n" not in result.reason and "Traceback" not in result.reason
    [problem] = result.train.problems
    assert (problem.file, problem.line) == (str(bad), 1)
    assert problem.reason.startswith("missing column 'label'")
    assert store.current() == serving and store.versions() == [serving]
    assert db.jobs.recent(1)[0].status == "failed"
    assert db.jobs.recent(1)[0].message == result.reason


def test_timeout_kills_the_job_and_changes_nothing(
    tmp_path: Path, store_dir: Path, db: Database, tiny_base: Path
) -> None:
    store = ModelStore(store_dir)
    serving = fake_version(store)
    export = write_csv(tmp_path / "export.csv", make_rows(10))
    runner = runner_for(store_dir, db, [export], tiny_base, timeout_s=1.0, kill_grace_s=1.0)
    job = runner.start("UADMIN")
    result = job.wait(WAIT_S)
    assert result.status == "timed_out"
    assert result.reason.startswith("timed out after 1s; training was stopped")
    assert result.reason.endswith("; the serving model is unchanged")
    assert group_gone(job.proc.pid)
    assert store.current() == serving and store.versions() == [serving]
    assert db.jobs.get(job.id).status == "timed_out"


# -- a stand-in for the training CLI ----------------------------------------------------------


def test_stubborn_process_group_is_killed(tmp_path: Path, store_dir: Path, db: Database) -> None:
    # Ignores SIGINT and leaves a grandchild: the whole group must still die. (The stand-in
    # says when its trap is set: a SIGINT that came earlier would simply end it.)
    ready = tmp_path / "trap-set"
    python = fake_python(tmp_path, f"trap '' INT\ntouch {ready}\nsleep 60 &\nsleep 60")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(store_dir, db, [export], python=python, timeout_s=30, kill_grace_s=0.3)
    job = runner.start("UADMIN")
    deadline = time.monotonic() + 10
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.cancel() is True
    result = job.wait(30)
    assert result.status == "cancelled" and result.train.message == "SIGKILL"
    assert result.reason == "cancelled; training was stopped; the serving model is unchanged"
    assert group_gone(job.proc.pid)
    assert runner.cancel() is False
    assert db.jobs.get(job.id).status == "cancelled"


def test_the_reason_comes_from_the_json_not_the_traceback(
    tmp_path: Path, store_dir: Path, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    python = fake_python(
        tmp_path,
        """echo '{"event": "start", "epochs": 1, "total_steps": 2}' >&2
echo 'Traceback (most recent call last):' >&2
echo '  File "finetune.py", line 9, in train' >&2
echo 'error: invalid training data' >&2
"""
        + prints(failure("device", "CUDA out of memory (tried to allocate 2.00 GiB)"), 4),
    )
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    events: list[dict] = []
    runner = runner_for(store_dir, db, [export], python=python)
    with caplog.at_level("WARNING", logger="bot.retrain.runner"):
        result = runner.start("UADMIN", events.append).wait(30)
    assert (result.status, result.train.kind) == ("failed", "device")
    assert result.reason == (
        "the training device is not usable: CUDA out of memory (tried to allocate 2.00 GiB)"
    )
    assert [e["event"] for e in events] == ["start"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "finetune.py" in logged and "Traceback" in logged  # stderr goes to the log only


def test_a_data_error_in_the_corrections_names_the_export_not_its_temporary_path(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    # The stand-in reports an empty text on line 3 of the corrections file it was given.
    python = fake_python(
        tmp_path,
        """for a in "$@"; do case "$a" in *heed-corrections.jsonl) F="$a";; esac; done
echo "{\\"ok\\": false, \\"error\\": {\\"kind\\": \\"data\\", \\"message\\": \\"invalid training \
data in $F\\", \\"problems\\": [{\\"file\\": \\"$F\\", \\"line\\": 3, \\"reason\\": \\"empty \
text\\"}, {\\"file\\": \\"$F\\", \\"line\\": 4, \\"reason\\": \\"empty text\\"}]}}"
exit 2""",
    )
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    answer(db, "meh", "bad")
    runner = runner_for(store_dir, db, [export], python=python)
    job = runner.start("UADMIN")
    result = job.wait(30)
    assert (result.status, result.train.kind) == ("failed", "data")
    assert result.reason == (
        "the training data is invalid: heed-corrections.jsonl:3: empty text (and 1 more problem)"
    )
    corrections = str(job.corrections)
    assert result.train.problems == (
        Problem(corrections, 3, "empty text"),
        Problem(corrections, 4, "empty text"),
    )


@pytest.mark.parametrize(
    "kind,message,reason",
    [
        ("base_model", "no config.json in /base", "the base model cannot be loaded: "),
        ("usage", "unrecognized arguments: --epoch 2", "the training arguments were refused"),
        ("internal", "KeyError: 'label'", "training failed: KeyError: 'label'"),
    ],
)
def test_each_error_kind_is_one_line_chosen_by_its_kind(
    tmp_path: Path, store_dir: Path, db: Database, kind: str, message: str, reason: str
) -> None:
    code = {"base_model": 3, "usage": 64, "internal": 1}[kind]
    python = fake_python(tmp_path, prints(failure(kind, message), code))
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    result = runner_for(store_dir, db, [export], python=python).start("UADMIN").wait(30)
    assert (result.status, result.train.kind) == ("failed", kind)
    assert result.reason.startswith(reason) and result.reason.endswith(message)
    assert "serving model" not in result.reason  # only a stopped job can have promoted


def test_an_interrupted_run_says_whether_it_had_promoted(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    store = ModelStore(store_dir)
    serving = fake_version(store)
    interrupted = failure("interrupted", "interrupted: no model version was written")
    python = fake_python(tmp_path, prints(interrupted, 130))
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(store_dir, db, [export], python=python)
    result = runner.start("UADMIN").wait(30)
    assert (result.status, result.train.kind) == ("failed", "interrupted")
    assert result.reason == (
        "training was interrupted: no model version was written; the serving model is unchanged"
    )
    late = "20260109-000000-beef00"
    after_write = failure(
        "interrupted", f"interrupted after writing model version {late} (now serving)"
    )
    promoted_first = fake_python(
        tmp_path, f"echo {late} > {store_dir}/current\n" + prints(after_write, 130)
    )
    runner = runner_for(store_dir, db, [export], python=promoted_first)
    result = runner.start("UADMIN").wait(30)
    assert result.reason == (
        f"training was interrupted: after writing model version {late} (now serving); "
        f"it had already promoted {late} before it stopped"
    )
    assert store.current() == late != serving


def test_a_killed_child_is_reported_by_its_signal(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    python = fake_python(tmp_path, "kill -9 $$")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    result = runner_for(store_dir, db, [export], python=python).start("UADMIN").wait(30)
    assert (result.status, result.train.kind) == ("failed", "killed")
    assert result.reason == "training was killed by SIGKILL (out of memory?) before it finished"


def test_success_without_result_json_is_a_failure(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    python = fake_python(tmp_path, "echo not json\nexit 0")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(store_dir, db, [export], python=python)
    result = runner.start("UADMIN").wait(30)
    assert (result.status, result.train.kind) == ("failed", "no_result")
    assert result.reason == "training ended without a result (exit code 0)"


def test_a_success_line_with_a_failing_exit_code_is_a_failure(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    python = fake_python(tmp_path, prints({"ok": True, "version": "v", "promoted": True}, 1))
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    result = runner_for(store_dir, db, [export], python=python).start("UADMIN").wait(30)
    assert result.status == "failed" and result.train.version is None
    assert result.reason == "training ended without a result (exit code 1)"


def test_command_includes_corrections_only_when_there_are_some(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    # The stand-in records its arguments and keeps a copy of the corrections file it was given.
    python = fake_python(
        tmp_path,
        f"""printf '%s\\n' "$@" > {tmp_path}/args.txt
for a in "$@"; do case "$a" in *corrections.jsonl) cp "$a" {tmp_path}/seen.jsonl;; esac; done
echo progress on stdout is ignored
"""
        + prints({"ok": True, "version": "v", "promoted": False, "promotion": {"reason": "worse"}}),
    )
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(store_dir, db, [export], python=python, base="current")
    expected = ["-m", "training", "train", "--data", str(export), "--base", "current"]
    expected += ["--promote", "--progress", "jsonl", "--json", "--stop-when-stdin-closes"]

    result = runner.start("UADMIN").wait(30)
    assert result.status == "succeeded" and not result.train.promoted
    assert result.train.promotion_reason == "worse" and result.train.version == "v"
    assert (tmp_path / "args.txt").read_text().splitlines() == expected
    assert db.jobs.recent(1)[0].message == "worse"

    answer(db, 'so "nice", really', "positive")
    assert runner.start("UADMIN").wait(30).status == "succeeded"
    args = (tmp_path / "args.txt").read_text().splitlines()
    assert args[:5] == expected[:5] and args[5] == "--train-only" and args[7:] == expected[5:]
    assert Path(args[6]).name == CORRECTIONS_FILENAME  # learnt from, never judged on
    assert (tmp_path / "seen.jsonl").read_text() == (
        '{"text": "so \\"nice\\", really", "label": "positive"}\n'
    )


def test_the_bundled_sample_needs_no_data_and_no_corrections(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    python = fake_python(
        tmp_path,
        f"printf '%s\\n' \"$@\" > {tmp_path}/args.txt\n"
        + prints({"ok": True, "version": "v", "promoted": True}),
    )
    answer(db, "meh", "negative")  # the default model is trained on the sample alone
    runner = RetrainRunner(
        store_dir, [], db, timeout_s=30, python=python, extra_args=("--epochs", "1")
    )
    job = runner.start("--train-default", bundled_sample=True)
    result = job.wait(30)
    assert result.succeeded and result.train.promoted and job.corrections_rows == 0
    assert (tmp_path / "args.txt").read_text().splitlines() == [
        "-m",
        "training",
        "train",
        "--bundled-sample",
        "--promote",
        "--progress",
        "jsonl",
        "--json",
        "--stop-when-stdin-closes",
        "--epochs",
        "1",
    ]
    assert db.jobs.get(job.id).requested_by == "--train-default"


def test_nothing_to_train_on(store_dir: Path, db: Database) -> None:
    runner = RetrainRunner(store_dir, [], db, timeout_s=10)
    with pytest.raises(RetrainError, match="nothing to train on"):
        runner.start("UADMIN")
    assert db.jobs.recent(5) == [] and runner.current_job() is None


def test_a_child_that_cannot_start_is_a_failed_job(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(store_dir, db, [export], python=str(tmp_path / "no-such-python"))
    with pytest.raises(RetrainError, match="could not start training"):
        runner.start("UADMIN")
    [job] = db.jobs.recent()
    assert job.status == "failed" and job.message.startswith("could not start training")
    assert runner.current_job() is None


def test_a_job_running_on_another_replica_is_refused_and_shown(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    other = db.jobs.claim("retrain", "UOTHER", owner="host-b:42", lease=timedelta(seconds=30))
    db.jobs.renew(other.id, "host-b:42", timedelta(seconds=30), progress="epoch 2/4")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = runner_for(store_dir, db, [export])
    with pytest.raises(JobAlreadyRunning) as refused:
        runner.start("UADMIN")
    assert refused.value.job.id == other.id and runner.current_job() is None
    shown = runner.running()
    assert shown is not None and shown.progress_text() == "epoch 2/4 (on replica host-b:42)"
    assert [j.id for j in db.jobs.recent()] == [other.id]


def test_callbacks_run_off_the_caller_thread_and_errors_are_contained(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    python = fake_python(tmp_path, """echo '{"event": "step", "step": 1}' >&2\nexit 3""")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    threads: list[str] = []

    def boom(event: dict) -> None:
        threads.append(threading.current_thread().name)
        raise ValueError("callback bug")

    runner = runner_for(store_dir, db, [export], python=python)
    result = runner.start("UADMIN", boom, lambda r: threads.append("done")).wait(30)
    assert result.status == "failed"
    assert result.reason == "training ended without a result (exit code 3)"
    assert threads[0].startswith("heed-retrain-") and threads[-1] == "done"


def test_exports_dir_keeps_each_jobs_corrections(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    python = fake_python(tmp_path, "exit 2")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    answer(db, "meh", "bad")
    kept = tmp_path / "exports"
    runner = runner_for(store_dir, db, [export], python=python, exports_dir=kept)
    job = runner.start("UADMIN")
    assert job.wait(30).status == "failed"
    assert job.corrections.parent == kept
    kept_file = job.corrections
    assert kept_file.suffix == ".jsonl"
    assert kept_file.read_text() == '{"text": "meh", "label": "bad"}\n'
    assert stat.S_IMODE(kept_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700


def test_child_gets_only_the_allow_listed_environment(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "SLACK_BOT_TOKEN": "xoxb-secret",
        "SLACK_APP_TOKEN": "xapp-secret",
        "HEED_DATABASE_URL": "postgresql://heed:hunter2@db/heed",
        "HEED_ADMINS": "UADMIN",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
    }
    needed = {
        "HEED_BASE_MODEL": "/models/tiny",
        "HEED_DEVICE": "cpu",
        "HEED_TORCH_THREADS": "2",
        "LC_ALL": "C.UTF-8",
        "OMP_NUM_THREADS": "2",
        "CUDA_VISIBLE_DEVICES": "0",
    }
    for name, value in {**secrets, **needed}.items():
        monkeypatch.setenv(name, value)
    env = child_env(tmp_path / "models")
    assert not set(secrets) & set(env)
    assert not any(value in " ".join(env.values()) for value in secrets.values())
    assert {k: env[k] for k in needed} == needed
    assert env["HEED_MODEL_DIR"] == str(tmp_path / "models")
    assert env["HEED_ENV_FILE"] == os.devnull  # no .env brings the secrets back
    assert env["PYTHONUNBUFFERED"] == "1" and env["HF_HUB_OFFLINE"] == "1"
    assert env["PATH"] == os.environ["PATH"]
    assert RetrainRunner(tmp_path / "models", [], db, timeout_s=5).python == sys.executable


def test_child_reads_no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("HEED_DATABASE_URL=postgresql://heed:hunter2@db/heed\n")
    monkeypatch.chdir(tmp_path)
    code = (
        "import os; from classifier.cli_support import load_env; load_env(); "
        "print(os.environ.get('HEED_DATABASE_URL', 'absent'))"
    )
    env = child_env(tmp_path / "models")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "absent", out.stderr
