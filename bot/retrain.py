"""Background retraining: ``python -m training train`` in a child process, one job at a time.

:class:`RetrainRunner` builds the training command from ``HEED_TRAIN_DATA`` plus the stored
corrections (exported to a CSV for the run), starts it in its own process group, and watches it
from two daemon threads:

* a **reader** thread parses the ``--progress jsonl`` lines the child writes to stderr and calls
  ``on_progress(event)`` for each (``start``, ``step``, ``epoch``); other stderr lines are kept
  (the last few) to explain a failure;
* a **supervisor** thread waits for the child (killing its process group on timeout or
  :meth:`RetrainRunner.cancel`), parses the result JSON from stdout, records the outcome in the
  :class:`~bot.feedback.FeedbackStore` and calls ``on_done(result)`` with a :class:`JobResult`.

The serving model is never touched here: the training CLI writes a new version atomically and
promotes it (``current`` replaced with ``os.replace``) only at its very end, after evaluating it
against the serving model on the same eval rows. A failed, cancelled or timed-out job therefore
leaves ``current`` as it was. Swapping the running bot to a promoted version is the caller's job
(``on_done`` tells it the version); rollback is :meth:`classifier.store.ModelStore.rollback`.

Nothing here imports Slack.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bot.feedback import FeedbackStore
from classifier.store import MODEL_DIR_ENV, ModelStore

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORRECTIONS_FILENAME = "heed-corrections.csv"
DATA_ERROR_MARKER = "error: invalid training data"
PROBLEM_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<reason>.+)$")
MORE_PROBLEMS = re.compile(r"^\.\.\. and (\d+) more problems")
STDERR_TAIL_LINES = 40
MAX_REASON_CHARS = 400

ProgressCallback = Callable[[dict[str, Any]], None]


class RetrainError(RuntimeError):
    """A job could not be started (no data, the child failed to launch)."""


class JobAlreadyRunning(RetrainError):
    """A retraining job is already running; ``job`` is that job."""

    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(
            f"a retraining job is already running (job {job.id}, requested by "
            f"{job.requested_by or 'someone'} at {job.started:%H:%M:%S} UTC)"
        )


@dataclass
class JobResult:
    """How a job ended; what ``on_done`` receives.

    ``status`` is ``succeeded``, ``failed``, ``timed_out`` or ``cancelled``. On failure
    ``reason`` is one line for the admin (the first ``FILE:LINE: reason`` of a data error, or
    the child's last stderr line; never a traceback) and ``problems`` lists every data error.
    On success ``result`` is the training CLI's JSON, and the fields below unpack it.
    """

    job_id: int
    status: str
    reason: str | None = None
    result: dict[str, Any] | None = None
    returncode: int | None = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)
    serving_before: str | None = None
    serving_after: str | None = None
    corrections_rows: int = 0

    @property
    def succeeded(self) -> bool:
        """True when training finished and a version was written (promoted or not)."""
        return self.status == "succeeded"

    @property
    def version(self) -> str | None:
        """The new version (success only)."""
        return (self.result or {}).get("version")

    @property
    def promoted(self) -> bool:
        """True when the new version is now serving: the bot should swap to it."""
        return bool((self.result or {}).get("promoted"))

    @property
    def promotion_reason(self) -> str | None:
        """Why it was (not) promoted, e.g. ``eval macro-F1 0.91 is not worse than ...``."""
        return ((self.result or {}).get("promotion") or {}).get("reason")

    @property
    def labels(self) -> list[str]:
        """The new model's labels, in confusion-matrix order."""
        return list((self.result or {}).get("labels") or [])

    @property
    def metrics(self) -> dict[str, Any]:
        """``accuracy``, ``macro_f1``, ``per_class`` {label: {precision, recall, f1, support}},
        ``confusion_matrix`` (rows: true label, columns: predicted, in :attr:`labels` order)."""
        return dict((self.result or {}).get("metrics") or {})

    @property
    def confusion_matrix_png(self) -> Path | None:
        """The confusion-matrix PNG written into the version directory, when present."""
        path = (self.result or {}).get("path")
        if not path:
            return None
        png = Path(path) / "confusion_matrix.png"
        return png if png.is_file() else None

    def summary(self) -> str:
        """One line for a status message."""
        if not self.succeeded:
            return f"{self.status.replace('_', ' ')}: {self.reason}"
        m = self.metrics
        verdict = "promoted" if self.promoted else "not promoted"
        return (
            f"trained {self.version}: accuracy {m.get('accuracy', 0):.3f}, macro-F1 "
            f"{m.get('macro_f1', 0):.3f}; {verdict} ({self.promotion_reason or 'no comparison'})"
        )


@dataclass
class Job:
    """A job started by :meth:`RetrainRunner.start`; its stored row is ``feedback.job(id)``."""

    id: int
    requested_by: str | None
    started: datetime
    data_files: list[Path]
    corrections_rows: int
    pid: int | None = None
    last_progress: dict[str, Any] | None = None
    """The newest progress event (``start``/``step``/``epoch``), for a status command."""
    start_event: dict[str, Any] | None = None
    """The ``start`` event (epochs, total_steps, train_rows, eval_rows) once it arrived."""
    result: JobResult | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        """True once the job ended and ``on_done`` returned."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> JobResult | None:
        """Block until the job ended and ``on_done`` returned; the result, or None on timeout."""
        self._done.wait(timeout)
        return self.result

    def progress_text(self) -> str:
        """A short human line about the newest progress event."""
        return describe_progress(self.last_progress, self.start_event)


def describe_progress(event: dict[str, Any] | None, start: dict[str, Any] | None = None) -> str:
    """``epoch 1/4 · step 12/40 (30%) · loss 0.693`` and the like, for a status message."""
    if not event:
        return "starting (loading the model and checking the data)"
    epochs = (start or {}).get("epochs")
    kind = event.get("event")
    if kind == "start":
        return (
            f"training on {event.get('train_rows')} rows, evaluating on {event.get('eval_rows')}: "
            f"{event.get('epochs')} epochs, {event.get('total_steps')} steps"
        )
    if kind == "step":
        total = event.get("total_steps") or 0
        step = event.get("step") or 0
        share = f" ({100 * step / total:.0f}%)" if total else ""
        of_epochs = f"/{epochs}" if epochs else ""
        return (
            f"epoch {event.get('epoch')}{of_epochs} · step {step}/{total}{share} · "
            f"loss {event.get('loss', float('nan')):.3f}"
        )
    if kind == "epoch":
        of_epochs = f"/{epochs}" if epochs else ""
        best = " (best so far)" if event.get("best") else ""
        return (
            f"epoch {event.get('epoch')}{of_epochs} evaluated: accuracy "
            f"{event.get('accuracy', 0):.3f}, macro-F1 {event.get('macro_f1', 0):.3f}{best}"
        )
    return str(kind)


class Throttle:
    """Let something happen at most once every ``interval_s`` seconds (e.g. ``chat.update``).

    ``ready()`` answers True at most once per interval; ``ready(force=True)`` always does (use
    it for milestones such as an epoch's metrics, or the final update). Thread-safe.
    """

    def __init__(self, interval_s: float = 3.0, *, clock: Callable[[], float] = time.monotonic):
        self.interval_s = interval_s
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def ready(self, *, force: bool = False) -> bool:
        """True when the caller may act now (and the interval restarts)."""
        with self._lock:
            now = self._clock()
            if force or self._last is None or now - self._last >= self.interval_s:
                self._last = now
                return True
            return False


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
    ``data_files`` the exports from ``HEED_TRAIN_DATA``; the stored corrections are added when
    there are any. ``timeout_s`` bounds a job's wall-clock time. ``extra_args`` are appended to
    the training command (e.g. ``("--epochs", "2")``), ``base`` becomes ``--base``.
    ``exports_dir``, when given, keeps each job's corrections CSV there (so ``heed.json``'s
    data provenance points at a file that still exists); otherwise a temporary file is used
    and removed when the job ends. ``kill_grace_s``: how long a stopped child gets to clean up
    after SIGINT before its process group is SIGKILLed.

    On construction, jobs left ``running`` in the store by a previous run of the bot are marked
    failed (the process that watched them is gone).
    """

    def __init__(
        self,
        model_dir: Path | str,
        data_files: Sequence[Path | str],
        feedback_store: FeedbackStore,
        *,
        timeout_s: float,
        python: str = sys.executable,
        extra_args: Sequence[str] = (),
        base: str | None = None,
        exports_dir: Path | str | None = None,
        kill_grace_s: float = 5.0,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.model_dir = Path(model_dir)
        self.data_files = [Path(p) for p in data_files]
        self.feedback = feedback_store
        self.timeout_s = timeout_s
        self.python = python
        self.extra_args = [str(a) for a in extra_args]
        self.base = base
        self.exports_dir = Path(exports_dir) if exports_dir is not None else None
        self.kill_grace_s = kill_grace_s
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._stop_reason: str | None = None
        stale = self.feedback.fail_stale_jobs()
        if stale:
            log.warning("marked %d retraining job(s) from a previous run as failed", stale)

    # -- public ----------------------------------------------------------------------------

    def current_job(self) -> Job | None:
        """The running job, or None."""
        with self._lock:
            return self._job

    def command(self, corrections: Path | None) -> list[str]:
        """The training command line for a job (``corrections`` added when given)."""
        data = [str(p) for p in self.data_files] + ([str(corrections)] if corrections else [])
        cmd = [self.python, "-m", "training", "train", "--data", *data]
        if self.base:
            cmd += ["--base", self.base]
        return [*cmd, "--promote", "--progress", "jsonl", "--json", *self.extra_args]

    def start(
        self,
        requested_by: str | None,
        on_progress: ProgressCallback | None = None,
        on_done: Callable[[JobResult], None] | None = None,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
    ) -> Job:
        """Start a job and return at once; raises :class:`JobAlreadyRunning` if one runs.

        ``on_progress(event)`` is called from the reader thread for each progress event;
        ``on_done(result)`` from the supervisor thread once, after the outcome is stored and
        the runner is free for the next job. Exceptions in callbacks are logged, not raised.
        Raises :class:`RetrainError` when there is nothing to train on or the child cannot
        be started (the failure is recorded as a failed job in that second case).
        """
        with self._lock:
            if self._job is not None:
                raise JobAlreadyRunning(self._job)
            workdir = Path(tempfile.mkdtemp(prefix="heed-retrain-"))
            try:
                corrections, rows = self._export_corrections(workdir)
                if not self.data_files and corrections is None:
                    raise RetrainError(
                        "nothing to train on: HEED_TRAIN_DATA names no export and no "
                        "corrections are stored yet"
                    )
                record = self.feedback.start_job(
                    "retrain", requested_by, channel=channel, message_ts=message_ts
                )
                cmd = self.command(corrections)
                serving_before = ModelStore(self.model_dir).current()
                try:
                    with open(workdir / "stdout.txt", "w", encoding="utf-8") as stdout:
                        proc = subprocess.Popen(
                            cmd,
                            stdin=subprocess.DEVNULL,
                            stdout=stdout,
                            stderr=subprocess.PIPE,
                            text=True,
                            encoding="utf-8",
                            errors="replace",
                            env=self._child_env(),
                            start_new_session=True,
                        )
                except OSError as exc:
                    message = f"could not start training: {exc}"
                    self.feedback.finish_job(record.id, "failed", message=message)
                    raise RetrainError(message) from exc
            except BaseException:
                shutil.rmtree(workdir, ignore_errors=True)
                raise
            job = Job(
                id=record.id,
                requested_by=requested_by,
                started=record.started or datetime.now(UTC),
                data_files=[*self.data_files, *([corrections] if corrections else [])],
                corrections_rows=rows,
                pid=proc.pid,
            )
            self._job, self._proc, self._stop_reason = job, proc, None
        log.info("retraining job %d started (pid %d): %s", job.id, proc.pid, " ".join(cmd))
        threading.Thread(
            target=self._supervise,
            args=(job, proc, workdir, corrections, serving_before, on_progress, on_done),
            name=f"heed-retrain-{job.id}",
            daemon=True,
        ).start()
        return job

    def cancel(self) -> bool:
        """Stop the running job (status ``cancelled``); False when none runs. Returns at once."""
        return self._stop("cancelled")

    def close(self, timeout: float | None = 30.0) -> None:
        """Cancel a running job and wait for it to end (call on shutdown)."""
        job = self.current_job()
        if job is not None:
            self.cancel()
            job.wait(timeout)

    # -- internals -------------------------------------------------------------------------

    def _child_env(self) -> dict[str, str]:
        # The training child needs no Slack credentials: least privilege.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env[MODEL_DIR_ENV] = str(self.model_dir)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        env["PYTHONUNBUFFERED"] = "1"
        if (PROJECT_ROOT / "training" / "__main__.py").is_file():
            parts = [str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])]
            env["PYTHONPATH"] = os.pathsep.join(parts)
        return env

    def _export_corrections(self, workdir: Path) -> tuple[Path | None, int]:
        """Write the stored corrections to a CSV for this job; (None, 0) when there are none."""
        path = workdir / CORRECTIONS_FILENAME
        rows = self.feedback.export_corrections_csv(path)
        if not rows:
            return None, 0
        if self.exports_dir is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            kept = self.exports_dir / f"corrections-{stamp}-{secrets.token_hex(2)}.csv"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, kept)
            path = kept
        return path, rows

    def _stop(self, reason: str) -> bool:
        with self._lock:
            proc = self._proc
            if proc is None or self._job is None:
                return False
            job_id = self._job.id
            if self._stop_reason is None:
                self._stop_reason = reason
        log.info("stopping retraining job %d (%s)", job_id, reason)
        _signal_group(proc, signal.SIGINT)
        threading.Thread(
            target=self._kill_after_grace, args=(proc,), name="heed-retrain-kill", daemon=True
        ).start()
        return True

    def _kill_after_grace(self, proc: subprocess.Popen[str]) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(self.kill_grace_s)
        _signal_group(proc, signal.SIGKILL)

    def _read_stderr(
        self,
        job: Job,
        stream: IO[str],
        tail: deque[str],
        problems: list[str],
        on_progress: ProgressCallback | None,
    ) -> None:
        in_data_error = False
        for raw in stream:
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict) and "event" in event:
                    if event["event"] == "start":
                        job.start_event = event
                    job.last_progress = event
                    _call(on_progress, event)
                    continue
            more = MORE_PROBLEMS.match(line)
            if line.startswith(DATA_ERROR_MARKER):
                in_data_error = True
            elif in_data_error and PROBLEM_LINE.match(line):
                problems.append(line)
            elif in_data_error and more:
                problems.append(f"... and {more.group(1)} more problems")
                in_data_error = False
            else:
                in_data_error = False
            tail.append(line)

    def _supervise(
        self,
        job: Job,
        proc: subprocess.Popen[str],
        workdir: Path,
        corrections: Path | None,
        serving_before: str | None,
        on_progress: ProgressCallback | None,
        on_done: Callable[[JobResult], None] | None,
    ) -> None:
        started = time.monotonic()
        tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        problems: list[str] = []
        reader = threading.Thread(
            target=self._read_stderr,
            args=(job, proc.stderr, tail, problems, on_progress),
            name=f"heed-retrain-{job.id}-stderr",
            daemon=True,
        )
        reader.start()
        result: JobResult | None = None
        try:
            try:
                proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                self._stop("timed_out")
                proc.wait()
            _signal_group(proc, signal.SIGKILL)  # any grandchild left behind
            reader.join(timeout=10)
            with contextlib.suppress(OSError):
                proc.stderr.close()
            with self._lock:
                stop_reason = self._stop_reason
            result = self._outcome(
                job,
                proc.returncode,
                stop_reason,
                workdir / "stdout.txt",
                list(tail),
                problems,
                corrections,
                serving_before,
            )
            result.seconds = round(time.monotonic() - started, 2)
        except Exception as exc:  # never leave the runner stuck with a job
            log.exception("retraining job %d: supervisor failed", job.id)
            result = JobResult(
                job.id, "failed", reason=f"internal error while watching the job: {exc}"
            )
        finally:
            if result is None:
                result = JobResult(job.id, "failed", reason="interrupted")
            result.corrections_rows = job.corrections_rows
            self._record(job, result)
            job.result = result
            shutil.rmtree(workdir, ignore_errors=True)
            with self._lock:
                self._job, self._proc, self._stop_reason = None, None, None
            log.info("retraining job %d: %s", job.id, result.summary())
            try:
                _call(on_done, result)
            finally:
                job._done.set()

    def _outcome(
        self,
        job: Job,
        returncode: int,
        stop_reason: str | None,
        stdout_path: Path,
        tail: list[str],
        problems: list[str],
        corrections: Path | None,
        serving_before: str | None,
    ) -> JobResult:
        serving_after = ModelStore(self.model_dir).current()
        base = {
            "returncode": returncode,
            "stderr_tail": tail,
            "serving_before": serving_before,
            "serving_after": serving_after,
        }
        parsed = _last_json(stdout_path)
        if returncode == 0 and parsed is not None:
            # Finished before a late stop signal could land: the version is real.
            return JobResult(job.id, "succeeded", result=parsed, **base)

        def friendly(line: str) -> str:
            if corrections is not None:
                line = line.replace(str(corrections), corrections.name)
            return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1] + "…"

        shown = [friendly(p) for p in problems if not MORE_PROBLEMS.match(p)]
        unshown = sum(int(m.group(1)) for p in problems if (m := MORE_PROBLEMS.match(p)))
        if stop_reason == "timed_out":
            reason = f"timed out after {self.timeout_s:g}s; training was stopped"
        elif stop_reason == "cancelled":
            reason = "cancelled; training was stopped"
        elif shown:
            more = len(shown) - 1 + unshown
            reason = shown[0] + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        elif returncode == 0:
            reason = "training exited without printing its result"
        else:
            reason = _last_meaningful(tail, returncode, friendly)
        if stop_reason:
            if serving_after != serving_before:
                reason += f"; it had already promoted {serving_after} before it stopped"
            else:
                reason += "; the serving model is unchanged"
        return JobResult(job.id, stop_reason or "failed", reason=reason, problems=shown, **base)

    def _record(self, job: Job, result: JobResult) -> None:
        try:
            if result.succeeded:
                metrics = {**result.metrics, "labels": result.labels}
                message = result.promotion_reason or "trained"
                self.feedback.finish_job(
                    job.id,
                    "succeeded",
                    version=result.version,
                    promoted=result.promoted,
                    metrics=metrics,
                    message=message,
                )
            else:
                self.feedback.finish_job(job.id, result.status, message=result.reason)
        except Exception:
            log.exception("retraining job %d: could not record the outcome", job.id)


def _signal_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Signal the child's whole process group (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _last_json(path: Path) -> dict[str, Any] | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.strip():
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _last_meaningful(tail: list[str], returncode: int, friendly: Callable[[str], str]) -> str:
    """The child's last stderr line worth showing (an ``error:`` line preferred)."""
    for line in reversed(tail):
        if line.startswith("error:"):
            return friendly(line.removeprefix("error:").strip())
    for line in reversed(tail):
        stripped = line.strip()
        if stripped and not line.startswith((" ", "\t", "Traceback", "{")):
            return friendly(stripped)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"training was killed by {name} (out of memory?)"
    return f"training exited with code {returncode}"
