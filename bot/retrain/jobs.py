"""A retraining job: its inputs (:class:`Preview`), while it runs here (:class:`Job`), how it
ended (:class:`JobResult`); as any replica sees it: :class:`bot.database.records.RunningJob`."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.agreement import LabelAgreement
from bot.database.records import RunningJob
from bot.retrain.contract import TrainResult, failure_reason
from classifier.exports import Problem, RowsReport

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 40
ProgressCallback = Callable[[dict[str, Any]], None]
DoneCallback = Callable[["JobResult"], None]


def describe_progress(event: dict[str, Any] | None, start: dict[str, Any] | None = None) -> str:
    """``epoch 1/4 · step 12/40 (30%) · loss 0.693`` and the like, for a status message."""
    if not event:
        return "starting (loading the model and checking the data)"
    epochs = (start or {}).get("epochs")
    of_epochs = f"/{epochs}" if epochs else ""
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
        return (
            f"epoch {event.get('epoch')}{of_epochs} · step {step}/{total}{share} · "
            f"loss {event.get('loss', float('nan')):.3f}"
        )
    if kind == "epoch":
        best = " (best so far)" if event.get("best") else ""
        return (
            f"epoch {event.get('epoch')}{of_epochs} evaluated: accuracy "
            f"{event.get('accuracy', 0):.3f}, macro-F1 {event.get('macro_f1', 0):.3f}{best}"
        )
    return str(kind)


class RetrainError(RuntimeError):
    """A job could not be started (no data, the child failed to launch)."""


class JobAlreadyRunning(RetrainError):
    """A retraining job is already running, on this replica or another; ``job`` is that job."""

    def __init__(self, job: RunningJob) -> None:
        self.job = job
        super().__init__(
            f"a retraining job is already running (job {job.id}, requested by "
            f"{job.requested_by or 'someone'} at {job.started:%H:%M:%S} UTC)"
        )


@dataclass(frozen=True)
class JobResult:
    """How a job ended (what ``on_done`` receives): ``succeeded``, ``failed``, ``timed_out`` or
    ``cancelled``, what the training CLI said, and on failure one line for the admin."""

    job_id: int
    status: str
    train: TrainResult
    reason: str | None = None
    seconds: float = 0.0
    corrections_rows: int = 0

    @property
    def succeeded(self) -> bool:
        """A version was written (promoted or not)."""
        return self.status == "succeeded"

    def summary(self) -> str:
        """One line for a status message."""
        if not self.succeeded:
            return f"{self.status.replace('_', ' ')}: {self.reason}"
        t = self.train
        verdict = "promoted" if t.promoted else "not promoted"
        return (
            f"trained {t.version}: accuracy {t.accuracy:.3f}, macro-F1 {t.macro_f1:.3f}; "
            f"{verdict} ({t.promotion_reason or 'no comparison'})"
        )


@dataclass
class Job:
    """A job running on this replica: its row id, its child process and what it said so far."""

    id: int
    requested_by: str | None
    started: datetime
    proc: subprocess.Popen[str]
    workdir: Path
    corrections: Path | None  # this job's export of the labelled rows, if there were any
    corrections_rows: int
    serving_before: str | None
    on_progress: ProgressCallback | None = None
    on_done: DoneCallback | None = None
    stop_reason: str | None = None  # why the bot stopped it: timed_out, cancelled, lost_lease,
    # unrenewed (the database could not be reached before the lease ran out)
    lease_ends: float = float("inf")  # monotonic time the stored lease runs out, at the latest
    last_progress: dict[str, Any] | None = None
    start_event: dict[str, Any] | None = None
    result: JobResult | None = None
    clock: float = field(default_factory=time.monotonic)
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_TAIL_LINES))
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

    def finish(self, result: JobResult) -> None:
        """Store the result and wake :meth:`wait`."""
        self.result = result
        self._done.set()

    def view(self) -> RunningJob:
        """This job as status lines show it."""
        return RunningJob(self.id, self.requested_by, self.started, self.progress_text())

    def ended(self, train: TrainResult, serving_after: str | None, timeout_s: float) -> JobResult:
        """What the ended child came to; ``serving_after`` is the store's ``current`` now."""
        seconds = round(time.monotonic() - self.clock, 2)
        base = {"seconds": seconds, "corrections_rows": self.corrections_rows}
        if train.ok:
            # Finished before a late stop signal could land: the version is real.
            return JobResult(self.id, "succeeded", train, **base)
        if self.stderr_tail:
            log.warning(
                "retraining job %d failed (%s); the child's last stderr lines:\n%s",
                self.id,
                train.kind,
                "\n".join(self.stderr_tail),
            )
        stopped = {
            "timed_out": f"timed out after {timeout_s:g}s; training was stopped",
            "cancelled": "cancelled; training was stopped",
            "lost_lease": "stopped: another replica declared this one dead (its lease expired)",
            "unrenewed": "stopped: its lease could not be renewed (the database was unreachable)",
        }
        rename = {str(self.corrections): self.corrections.name} if self.corrections else {}
        reason = stopped.get(self.stop_reason or "") or failure_reason(train, rename)
        if self.stop_reason or train.kind == "interrupted":
            if serving_after != self.serving_before:
                reason += f"; it had already promoted {serving_after} before it stopped"
            else:
                reason += "; the serving model is unchanged"
        status = self.stop_reason if self.stop_reason in ("cancelled", "timed_out") else "failed"
        return JobResult(self.id, status, train, reason=reason, **base)


@dataclass(frozen=True)
class Preview:
    """A retrain's inputs as an admin should see them before starting it."""

    serving: str | None
    task: str = "default"
    report: RowsReport | None = None  # the rows per file and role, when the data is valid
    corrections: int = 0  # labelled rows from feedback that go in (all of them)
    new_labels: dict[str, int] = field(default_factory=dict)
    """Rows per label among the corrections answered since the serving model was made."""
    new_by: dict[str, int] = field(default_factory=dict)  # who gave those: user id -> rows
    held: int = 0
    low_agreement: tuple[LabelAgreement, ...] = ()  # labels labelers agree on too rarely
    problems: tuple[Problem, ...] = ()  # every data problem (the export named ``corrections``)
    suspects_found: int | None = None  # what the last ``/heed-admin suspects`` run found
