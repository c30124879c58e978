"""A retraining job while it runs (:class:`Job`) and how it ended (:class:`JobResult`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.retrain.contract import Problem
from bot.retrain.progress import describe_progress

if TYPE_CHECKING:
    from bot.database import JobRecord


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


@dataclass
class JobResult:
    """How a job ended; what ``on_done`` receives.

    ``status`` is ``succeeded``, ``failed``, ``timed_out`` or ``cancelled``. On failure
    ``kind`` is the training CLI's error kind (``data``, ``base_model``, ``device``,
    ``interrupted``, ...; see :mod:`bot.retrain.contract`), ``reason`` one line for the admin
    chosen by that kind (never a traceback) and ``problems`` every bad row of a data error.
    On success ``result`` is the training CLI's JSON, and the fields below unpack it.
    """

    job_id: int
    status: str
    reason: str | None = None
    result: dict[str, Any] | None = None
    returncode: int | None = None
    seconds: float = 0.0
    kind: str | None = None
    problems: tuple[Problem, ...] = ()
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
    def calibration(self) -> dict[str, Any]:
        """The new version's temperature fit: ``temperature``, ``calibrated``, ``reason``,
        ``rows``, ``bins``, ``ece_before``/``ece_after`` (empty from an older training CLI)."""
        raw = (self.result or {}).get("calibration")
        return dict(raw) if isinstance(raw, dict) else {}

    @property
    def confusion_matrix_png(self) -> Path | None:
        """The confusion-matrix PNG written into the version directory, when present."""
        return self._version_file("confusion_matrix.png")

    @property
    def reliability_png(self) -> Path | None:
        """The reliability diagram (before/after calibration) in the version directory."""
        return self._version_file("reliability_diagram.png")

    def _version_file(self, name: str) -> Path | None:
        path = (self.result or {}).get("path")
        if not path:
            return None
        file = Path(path) / name
        return file if file.is_file() else None

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
    """A job started by :meth:`RetrainRunner.start`; its stored row is ``db.jobs.get(id)``."""

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

    def finish(self, result: JobResult) -> None:
        """Store the result and wake :meth:`wait` (the runner calls this once)."""
        self.result = result
        self._done.set()

    def view(self) -> RunningJob:
        """This job as status lines show it."""
        return RunningJob(self.id, self.requested_by, self.started, self.progress_text())


@dataclass(frozen=True)
class RunningJob:
    """A running job as any replica sees it: from this replica's live :class:`Job`, or from
    the database row that another replica keeps renewing (``owner`` is that replica)."""

    id: int
    requested_by: str | None
    started: datetime
    progress: str
    owner: str | None = None

    @classmethod
    def from_record(cls, record: JobRecord) -> RunningJob:
        """A job running on another replica, from the row it renews."""
        return cls(
            record.id,
            record.requested_by,
            record.started or record.created,
            record.progress or "running",
            record.owner,
        )

    def progress_text(self) -> str:
        """The newest progress line (and the replica, when it runs on another one)."""
        return self.progress + (f" (on replica {self.owner})" if self.owner else "")
