"""Background retraining: ``python -m training train`` in a child process, one job per task
across the replicas sharing the database (a claimed job row whose lease is renewed)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bot.database import Database, JobConflict
from bot.database.exports import write_jsonl, write_private
from bot.database.records import RunningJob
from bot.database.schema import FEEDBACK_SOURCES, REVIEWED
from bot.retrain.contract import TrainRequest, TrainResult, last_json_line, parse_result
from bot.retrain.jobs import (
    DoneCallback,
    Job,
    JobAlreadyRunning,
    JobResult,
    ProgressCallback,
    RetrainError,
)
from classifier.cli_support import BASE_MODEL_ENV, DEVICE_ENV, ENV_FILE_ENV, THREADS_ENV
from classifier.store import DEFAULT_TASK, MODEL_DIR_ENV, ModelStore

log = logging.getLogger(__name__)

CORRECTIONS_FILENAME = "heed-corrections.jsonl"
REVIEWED_FILENAME = "heed-reviewed-suspects.jsonl"
NOTHING_TO_TRAIN_ON = (
    "nothing to train on: HEED_TRAIN_DATA names no export and no corrections are stored yet"
)
NO_TRUSTED_EVAL = (
    "nothing trusted to judge a new model on: set HEED_EVAL_DATA (a fixed held-out export) or "
    "HEED_TRAIN_DATA; corrections are never used to decide a promotion"
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHILD_ENV = (
    *("PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "HF_HOME", "HF_HUB_CACHE"),
    *("HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM", "OMP_NUM_THREADS", "MKL_NUM_THREADS"),
    *("CUDA_VISIBLE_DEVICES", BASE_MODEL_ENV, DEVICE_ENV, THREADS_ENV),
)
"""All the training child inherits (with ``LC_*``): least privilege, no database URL, no token."""


def child_env(model_dir: Path) -> dict[str, str]:
    """The allow-listed part of the bot's environment, pointed at ``model_dir``."""
    env = {k: v for k, v in os.environ.items() if k in CHILD_ENV or k.startswith("LC_")}
    env[MODEL_DIR_ENV] = str(model_dir)
    env[ENV_FILE_ENV] = os.devnull  # a .env in the working directory would bring the secrets back
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONUNBUFFERED"] = "1"
    if (PROJECT_ROOT / "training" / "__main__.py").is_file():
        parts = [str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def export_reviewed(db: Database, task: str, workdir: Path) -> Path | None:
    """The reviewed suspects of ``task`` (``/heed-admin suspects``' Keep and Change) as a
    private JSONL file in ``workdir`` for ``--overrides``; None when there are none."""
    reviewed = db.predictions.labelled_rows(task, sources=(REVIEWED,))
    if not reviewed:
        return None
    path = workdir / REVIEWED_FILENAME
    write_private(path, lambda handle: write_jsonl(handle, reviewed))
    return path


def spawn(cmd: list[str], stdout_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``cmd`` in its own session, so that a stop signal reaches its whole group."""
    with open(stdout_path, "w", encoding="utf-8") as stdout:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,  # never written: it closes when the bot dies, stopping the child
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            start_new_session=True,
        )


def signal_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Signal the child's whole process group (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def read_events(
    stream: IO[str], on_event: Callable[[dict[str, Any]], None], other: Callable[[str], None]
) -> None:
    """Read the child's stderr to the end: JSON progress events (objects with ``event``) to
    ``on_event``, every other non-empty line to ``other``."""
    for raw in stream:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        event = None
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                event = json.loads(line)
        if isinstance(event, dict) and "event" in event:
            on_event(event)
        else:
            other(line)


def _call(callback: Callable[..., Any] | None, *args: Any) -> None:
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.exception("retraining callback %r failed", callback)


@dataclass(eq=False)
class RetrainRunner:
    """Runs one task's retraining jobs (store ``model_dir``), one at a time, each in a child
    process; ``exports_dir`` keeps each job's corrections, else they go with the job."""

    model_dir: Path
    data_files: Sequence[Path]
    db: Database
    _: KW_ONLY
    timeout_s: float
    python: str = sys.executable
    extra_args: Sequence[str] = ()
    launcher: Sequence[str] = ()
    base: str | None = None
    exports_dir: Path | None = None
    kill_grace_s: float = 5.0
    owner: str = "local"
    lease_s: float = 30.0
    eval_files: Sequence[Path] = ()
    task: str = DEFAULT_TASK
    before_claim: Callable[[], object] | None = None  # the reaper's tick: reports dead jobs first
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _job: Job | None = field(default=None, init=False, repr=False)

    def current_job(self) -> Job | None:
        """The job running on this replica, or None."""
        with self._lock:
            return self._job

    def running(self) -> RunningJob | None:
        """This task's job running anywhere in the cluster (this replica's first), or None."""
        job = self.current_job()
        if job is not None:
            return job.view()
        record = self.db.jobs.running(self.task)
        return RunningJob.from_record(record) if record is not None else None

    def request(
        self,
        corrections: Path | None,
        *,
        bundled_sample: bool = False,
        overrides: Path | None = None,
        promote: bool = True,
    ) -> TrainRequest:
        """What a job trains on: the exports plus ``corrections`` and the reviewed suspects
        (``overrides``), or the bundled sample; promoted when not worse unless ``promote`` is
        False (a version to shadow the serving one)."""
        return TrainRequest(
            data=tuple(self.data_files),
            eval_data=tuple(self.eval_files),
            corrections=corrections,
            bundled_sample=bundled_sample,
            base=self.base,
            options=tuple(self.extra_args),
            promote=promote,
            overrides=overrides,
        )

    def command(self, request: TrainRequest) -> list[str]:
        """The training command line of ``request``, run through ``launcher`` when set."""
        return [*(self.launcher or [self.python]), "-m", "training", *request.train_args()]

    def start(
        self,
        requested_by: str | None,
        on_progress: ProgressCallback | None = None,
        on_done: DoneCallback | None = None,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        bundled_sample: bool = False,
        promote: bool = True,
    ) -> Job:
        """Start a job and return at once; ``on_done`` runs once the outcome is stored and the
        runner is free. Raises :class:`RetrainError` (:class:`JobAlreadyRunning`)."""
        _call(self.before_claim)  # outside the lock: it may talk to Slack
        with self._lock:
            if self._job is not None:
                raise JobAlreadyRunning(self._job.view())
            workdir = Path(tempfile.mkdtemp(prefix="heed-retrain-"))
            try:
                corrections, rows = (None, 0) if bundled_sample else self._export(workdir)
                overrides = None if bundled_sample else export_reviewed(self.db, self.task, workdir)
                if not bundled_sample and not self.data_files:
                    if corrections is None:
                        raise RetrainError(NOTHING_TO_TRAIN_ON)
                    if not self.eval_files:
                        raise RetrainError(NO_TRUSTED_EVAL)
                claimed = time.monotonic()  # the lease runs from (at the latest) here
                try:
                    record = self.db.jobs.claim(
                        "retrain",
                        requested_by,
                        owner=self.owner,
                        lease=timedelta(seconds=self.lease_s),
                        channel=channel,
                        message_ts=message_ts,
                        task=self.task,
                    )
                except JobConflict as exc:
                    raise JobAlreadyRunning(RunningJob.from_record(exc.existing)) from None
                request = self.request(
                    corrections, bundled_sample=bundled_sample, overrides=overrides, promote=promote
                )
                cmd = self.command(request)
                serving_before = ModelStore(self.model_dir).current()
                try:
                    proc = spawn(cmd, workdir / "stdout.txt", child_env(self.model_dir))
                except OSError as exc:
                    message = f"could not start training: {exc}"
                    self.db.jobs.finish(record.id, "failed", owner=self.owner, message=message)
                    raise RetrainError(message) from exc
            except BaseException:
                shutil.rmtree(workdir, ignore_errors=True)
                raise
            job = Job(
                id=record.id,
                requested_by=requested_by,
                started=record.started or datetime.now(UTC),
                proc=proc,
                workdir=workdir,
                corrections=corrections,
                corrections_rows=rows,
                serving_before=serving_before,
                on_progress=on_progress,
                on_done=on_done,
                lease_ends=claimed + self.lease_s,
            )
            self._job = job
        log.info("retraining job %d started (pid %d): %s", job.id, proc.pid, " ".join(cmd))
        threading.Thread(
            target=self._supervise, args=(job,), name=f"heed-retrain-{job.id}", daemon=True
        ).start()
        return job

    def cancel(self, reason: str = "cancelled") -> bool:
        """Stop the running job, for ``reason``; False when none runs. Returns at once."""
        with self._lock:
            job = self._job
            if job is None:
                return False
            if job.stop_reason is None:
                job.stop_reason = reason
        log.info("stopping retraining job %d (%s)", job.id, reason)
        signal_group(job.proc, signal.SIGINT)
        threading.Thread(
            target=self._kill_after_grace, args=(job.proc,), name="heed-retrain-kill", daemon=True
        ).start()
        return True

    def cancel_elsewhere(self, job_id: int, by: str | None) -> bool:
        """Ask the replica running a job to cancel it: it stops its child at its next lease
        renewal, and only then frees the task for another job. False when it no longer runs."""
        return self.db.jobs.request_cancel(job_id, f"cancelled by {by or 'an admin'}")

    def close(self, timeout: float | None = 30.0) -> None:
        """Cancel a running job and wait for it to end (call on shutdown)."""
        job = self.current_job()
        if job is not None:
            self.cancel()
            job.wait(timeout)

    def _export(self, workdir: Path) -> tuple[Path | None, int]:
        """Export the labelled rows for this job; (None, 0) when there are none."""
        labelled = self.db.predictions.labelled_rows(self.task, sources=FEEDBACK_SOURCES)
        if not labelled:
            return None, 0
        path = workdir / CORRECTIONS_FILENAME
        if self.exports_dir is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            path = self.exports_dir / f"corrections-{stamp}-{secrets.token_hex(2)}.jsonl"
        rows = write_private(path, lambda handle: write_jsonl(handle, labelled))
        return path, rows

    def _kill_after_grace(self, proc: subprocess.Popen[str]) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(self.kill_grace_s)
        signal_group(proc, signal.SIGKILL)

    @staticmethod
    def _on_event(job: Job, event: dict[str, Any]) -> None:
        if event["event"] == "start":
            job.start_event = event
        job.last_progress = event
        _call(job.on_progress, event)

    def _supervise(self, job: Job) -> None:
        proc = job.proc
        reader = threading.Thread(
            target=read_events,
            args=(proc.stderr, lambda event: self._on_event(job, event), job.stderr_tail.append),
            name=f"heed-retrain-{job.id}-stderr",
            daemon=True,
        )
        reader.start()
        result = JobResult(job.id, "failed", TrainResult(False, "internal"), "interrupted")
        try:
            self._wait_renewing(job)
            signal_group(proc, signal.SIGKILL)  # any grandchild left behind
            reader.join(timeout=10)
            with contextlib.suppress(OSError):
                proc.stderr.close()
            train = parse_result(last_json_line(job.workdir / "stdout.txt"), proc.returncode)
            result = job.ended(train, ModelStore(self.model_dir).current(), self.timeout_s)
        except Exception as exc:  # never leave the runner stuck with a job
            log.exception("retraining job %d: supervisor failed", job.id)
            reason = f"internal error while watching the job: {exc}"
            result = JobResult(job.id, "failed", TrainResult(False, "internal"), reason)
        finally:
            self._record(job, result)
            shutil.rmtree(job.workdir, ignore_errors=True)
            with self._lock:
                self._job = None
            log.info("retraining job %d: %s", job.id, result.summary())
            try:
                _call(job.on_done, result)
            finally:
                job.finish(result)

    def _wait_renewing(self, job: Job) -> None:
        """Wait for the child, renewing the lease; stop it on timeout, when the job is lost or
        cancelled, or when its lease ran out unrenewed."""
        every = max(0.2, self.lease_s / 3)
        deadline = job.clock + self.timeout_s
        while True:
            with contextlib.suppress(subprocess.TimeoutExpired):
                wake = min(time.monotonic() + every, deadline, job.lease_ends)
                job.proc.wait(timeout=max(0.0, wake - time.monotonic()))
                return
            lost = "timed_out" if time.monotonic() >= deadline else self._renew(job)
            if lost is not None:
                self.cancel(lost)
                job.proc.wait()
                return

    def _renew(self, job: Job) -> str | None:
        """Renew the lease: None while the job is still this replica's, else why it must stop.
        A renewal that cannot reach the database fails: a hiccup is retried at the next one,
        but once the lease would have expired another replica may claim the task, so the
        child stops then."""
        lease = timedelta(seconds=self.lease_s)
        asked = time.monotonic()
        try:
            if self.db.jobs.renew(job.id, self.owner, lease, progress=job.progress_text()):
                job.lease_ends = asked + self.lease_s
                return None
            record = self.db.jobs.get(job.id)
        except Exception:
            log.exception("retraining job %d: cannot renew its lease", job.id)
            return "unrenewed" if time.monotonic() >= job.lease_ends else None
        requested = record.status == "running" and record.cancel_requested is not None
        cancelled = requested or record.status == "cancelled"
        return "cancelled" if cancelled else "lost_lease"

    def _record(self, job: Job, result: JobResult) -> None:
        train, outcome = result.train, {"message": result.reason}
        if result.succeeded:
            outcome = {
                "version": train.version,
                "promoted": train.promoted,
                "metrics": train.stored_metrics(),
                "message": train.promotion_reason or "trained",
            }
        try:
            self.db.jobs.finish(job.id, result.status, owner=self.owner, **outcome)
        except Exception:
            log.exception("retraining job %d: could not record the outcome", job.id)
