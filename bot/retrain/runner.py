"""Background retraining: ``python -m training train`` in a child process, one job at a time.

:class:`RetrainRunner` makes a :class:`~bot.retrain.request.TrainRequest` of
``HEED_TRAIN_DATA`` plus the labelled rows people gave, starts the child
(:mod:`bot.retrain.child`) and watches it: a reader thread turns its stderr progress events
into ``on_progress(event)`` calls; a supervisor thread waits for it, renews the job's lease,
stops it on timeout, cancel or a lost lease, reads the JSON object it
ends with (:mod:`bot.retrain.contract`), records the outcome and calls ``on_done(result)``.

At most one job runs across every replica sharing the database: a job row is *claimed* (only
one replica can hold the running slot) and its lease renewed every third of ``lease_s``, with
the newest progress line for the other replicas' status. A replica that dies stops renewing;
another replica's :class:`~bot.retrain.reaper.Reaper` marks the job ``interrupted``, and the
orphaned child, whose stdin closed with its parent, interrupts itself. The training CLI writes
a version atomically and promotes it only at its very end, so a failed, cancelled, timed-out
or interrupted job leaves ``current`` as it was. Nothing here imports Slack or training.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.database import Database, JobConflict
from bot.database.exports import write_jsonl, write_private
from bot.database.records import RunningJob
from bot.retrain.child import child_env, read_events, signal_group, spawn
from bot.retrain.contract import TrainResult, read_result
from bot.retrain.jobs import (
    DoneCallback,
    Job,
    JobAlreadyRunning,
    JobResult,
    ProgressCallback,
    RetrainError,
)
from bot.retrain.request import TrainRequest
from classifier.store import DEFAULT_TASK, ModelStore

log = logging.getLogger(__name__)

CORRECTIONS_FILENAME = "heed-corrections.jsonl"
DEFAULT_LEASE_S = 30.0
NO_TRUSTED_EVAL = (
    "nothing trusted to judge a new model on: set HEED_EVAL_DATA (a fixed held-out export) or "
    "HEED_TRAIN_DATA; corrections are never used to decide a promotion"
)


def _call(callback: Callable[..., Any] | None, *args: Any) -> None:
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.exception("retraining callback %r failed", callback)


class RetrainRunner:
    """Runs retraining jobs one at a time in a child process.

    ``model_dir`` is the model store root (passed to the child as ``$HEED_MODEL_DIR``),
    ``data_files`` the exports from ``HEED_TRAIN_DATA``; the labelled rows in ``db`` are added
    when there are any. ``timeout_s`` bounds a job's wall-clock time. ``extra_args`` are
    appended to the training command (e.g. ``("--epochs", "2")``), ``base`` becomes ``--base``.
    ``launcher``, when given, replaces ``python`` in front of ``-m training train`` (e.g.
    ``("torchrun", "--nproc-per-node", "2")`` for data-parallel training).
    ``exports_dir``, when given, keeps each job's corrections JSONL there (so ``heed.json``'s
    data provenance points at a file that still exists); otherwise a temporary file is used
    and removed when the job ends. ``kill_grace_s``: how long a stopped child gets to clean up
    after SIGINT before its process group is SIGKILLed.

    ``task`` is the task it retrains (``model_dir`` is that task's store): its job claims and
    its corrections are that task's only, so each task can retrain at the same time.

    ``owner`` names this replica in the job rows; ``lease_s`` is how long a job row stays
    claimed without renewal.

    Promotion is judged on trusted rows only: on ``eval_files`` (``HEED_EVAL_DATA``, a fixed
    held-out export) when given, else on a split of ``data_files`` — the corrections are passed
    with ``--train-only`` and never land in the eval rows.
    """

    def __init__(
        self,
        model_dir: Path | str,
        data_files: Sequence[Path | str],
        db: Database,
        *,
        timeout_s: float,
        python: str = sys.executable,
        extra_args: Sequence[str] = (),
        launcher: Sequence[str] = (),
        base: str | None = None,
        exports_dir: Path | str | None = None,
        kill_grace_s: float = 5.0,
        owner: str = "local",
        lease_s: float = DEFAULT_LEASE_S,
        eval_files: Sequence[Path | str] = (),
        task: str = DEFAULT_TASK,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.model_dir = Path(model_dir)
        self.task = task
        """The task this runner retrains: its jobs and corrections only."""
        self.data_files = [Path(p) for p in data_files]
        self.eval_files = [Path(p) for p in eval_files]
        self.db = db
        self.timeout_s = timeout_s
        self.python = python
        self.extra_args = [str(a) for a in extra_args]
        self.launcher = [str(a) for a in launcher]
        self.base = base
        self.exports_dir = Path(exports_dir) if exports_dir is not None else None
        self.kill_grace_s = kill_grace_s
        self.owner = owner
        self.lease_s = lease_s
        self._lock = threading.Lock()
        self._job: Job | None = None
        self.before_claim: Callable[[], object] | None = None
        """Called before each claim: the reaper's tick, so a dead replica's job that the claim
        would expire in passing is reported in Slack first."""

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

    def request(self, corrections: Path | None, *, bundled_sample: bool = False) -> TrainRequest:
        """What a job trains on: ``HEED_TRAIN_DATA`` (judged on ``HEED_EVAL_DATA`` when set,
        else on a split of it) plus ``corrections`` for training only, or the bundled sample
        export (an empty store's first model)."""
        return TrainRequest(
            data=tuple(self.data_files),
            eval_data=tuple(self.eval_files),
            corrections=corrections,
            bundled_sample=bundled_sample,
            base=self.base,
            options=tuple(self.extra_args),
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
    ) -> Job:
        """Start a job and return at once; raises :class:`JobAlreadyRunning` if one runs.

        ``on_progress(event)`` is called from the reader thread for each progress event;
        ``on_done(result)`` from the supervisor thread once, after the outcome is stored and
        the runner is free for the next job. Exceptions in callbacks are logged, not raised.
        Raises :class:`RetrainError` when there is nothing to train on or the child cannot
        be started (the failure is recorded as a failed job in that second case).
        ``bundled_sample`` trains on the sample export shipped with Heed instead.
        """
        _call(self.before_claim)  # outside the lock: it may talk to Slack
        with self._lock:
            if self._job is not None:
                raise JobAlreadyRunning(self._job.view())
            workdir = Path(tempfile.mkdtemp(prefix="heed-retrain-"))
            try:
                corrections, rows = (None, 0) if bundled_sample else self._export(workdir)
                if not bundled_sample and not self.data_files and corrections is None:
                    raise RetrainError(
                        "nothing to train on: HEED_TRAIN_DATA names no export and no "
                        "corrections are stored yet"
                    )
                if not bundled_sample and not self.data_files and not self.eval_files:
                    raise RetrainError(NO_TRUSTED_EVAL)
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
                cmd = self.command(self.request(corrections, bundled_sample=bundled_sample))
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
            )
            self._job = job
        log.info("retraining job %d started (pid %d): %s", job.id, proc.pid, " ".join(cmd))
        threading.Thread(
            target=self._supervise, args=(job,), name=f"heed-retrain-{job.id}", daemon=True
        ).start()
        return job

    def cancel(self) -> bool:
        """Stop the running job (status ``cancelled``); False when none runs. Returns at once."""
        return self._stop("cancelled")

    def cancel_elsewhere(self, job_id: int, by: str | None) -> bool:
        """Mark a job running on another replica ``cancelled``; that replica stops its child
        at its next lease renewal (within ``lease_s / 3`` seconds). False when it no longer
        runs."""
        record = self.db.jobs.get(job_id)
        if record is None or record.status != "running":
            return False
        self.db.jobs.finish(job_id, "cancelled", message=f"cancelled by {by or 'an admin'}")
        return True

    def close(self, timeout: float | None = 30.0) -> None:
        """Cancel a running job and wait for it to end (call on shutdown)."""
        job = self.current_job()
        if job is not None:
            self.cancel()
            job.wait(timeout)

    def _export(self, workdir: Path) -> tuple[Path | None, int]:
        """Write the labelled rows to a JSONL file (the exact texts) for this job; (None, 0)
        when there are none."""
        labelled = self.db.predictions.labelled_rows(self.task)
        if not labelled:
            return None, 0
        path = workdir / CORRECTIONS_FILENAME
        if self.exports_dir is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            path = self.exports_dir / f"corrections-{stamp}-{secrets.token_hex(2)}.jsonl"
        rows = write_private(path, lambda handle: write_jsonl(handle, labelled))
        return path, rows

    def _stop(self, reason: str) -> bool:
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
        result: JobResult | None = None
        try:
            self._wait_renewing(job)
            signal_group(proc, signal.SIGKILL)  # any grandchild left behind
            reader.join(timeout=10)
            with contextlib.suppress(OSError):
                proc.stderr.close()
            train = read_result(job.workdir / "stdout.txt", proc.returncode)
            result = job.ended(train, ModelStore(self.model_dir).current(), self.timeout_s)
        except Exception as exc:  # never leave the runner stuck with a job
            log.exception("retraining job %d: supervisor failed", job.id)
            reason = f"internal error while watching the job: {exc}"
            result = JobResult(job.id, "failed", TrainResult(False, "internal"), reason)
        finally:
            if result is None:
                result = JobResult(job.id, "failed", TrainResult(False, "internal"), "interrupted")
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
        """Wait for the child, renewing the job's lease; stop it on timeout, or when the lease
        was lost (another replica declared this one dead)."""
        every = max(0.2, self.lease_s / 3)
        deadline = job.clock + self.timeout_s
        while True:
            try:
                job.proc.wait(timeout=max(0.0, min(every, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                pass
            else:
                return
            if time.monotonic() >= deadline:
                self._stop("timed_out")
                job.proc.wait()
                return
            if not self._renew(job):
                self._stop(self._why_lost(job))
                job.proc.wait()
                return

    def _why_lost(self, job: Job) -> str:
        """Why the job is no longer this replica's: ``cancelled`` from another replica
        (``/heed-admin cancel`` there), else ``lost_lease``."""
        try:
            record = self.db.jobs.get(job.id)
        except Exception:
            log.exception("retraining job %d: cannot read why its lease was lost", job.id)
            return "lost_lease"
        return "cancelled" if record is not None and record.status == "cancelled" else "lost_lease"

    def _renew(self, job: Job) -> bool:
        try:
            return self.db.jobs.renew(
                job.id, self.owner, timedelta(seconds=self.lease_s), progress=job.progress_text()
            )
        except Exception:  # a database hiccup is not a lost lease; the next renewal retries
            log.exception("retraining job %d: cannot renew its lease", job.id)
            return True

    def _record(self, job: Job, result: JobResult) -> None:
        try:
            if result.succeeded:
                train = result.train
                self.db.jobs.finish(
                    job.id,
                    "succeeded",
                    owner=self.owner,
                    version=train.version,
                    promoted=train.promoted,
                    metrics=train.stored_metrics(),
                    message=train.promotion_reason or "trained",
                )
            else:
                self.db.jobs.finish(job.id, result.status, owner=self.owner, message=result.reason)
        except Exception:
            log.exception("retraining job %d: could not record the outcome", job.id)
