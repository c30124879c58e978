"""One retraining run as the supervisor sees it, and what it came to once the child ended."""

from __future__ import annotations

import logging
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.retrain.contract import failure_reason, last_json_line, read_outcome
from bot.retrain.jobs import Job, JobResult

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 40
ProgressCallback = Callable[[dict[str, Any]], None]
DoneCallback = Callable[[JobResult], None]


@dataclass
class Run:
    """Everything the supervisor needs about one running child."""

    job: Job
    proc: subprocess.Popen[str]
    workdir: Path
    corrections: Path | None
    serving_before: str | None
    on_progress: ProgressCallback | None
    on_done: DoneCallback | None
    stop_reason: str | None = None
    started: float = field(default_factory=time.monotonic)
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_TAIL_LINES))


def job_outcome(run: Run, serving_after: str | None, timeout_s: float) -> JobResult:
    """What an ended child came to: its JSON outcome, or why it was stopped; ``serving_after``
    is the store's ``current`` now, compared with what served when the job started."""
    returncode = run.proc.returncode
    outcome = read_outcome(last_json_line(run.workdir / "stdout.txt"), returncode)
    base = {
        "returncode": returncode,
        "serving_before": run.serving_before,
        "serving_after": serving_after,
    }
    if outcome.ok:
        # Finished before a late stop signal could land: the version is real.
        return JobResult(run.job.id, "succeeded", result=outcome.result, **base)
    if run.stderr_tail:
        log.warning(
            "retraining job %d failed (%s); the child's last stderr lines:\n%s",
            run.job.id,
            outcome.kind,
            "\n".join(run.stderr_tail),
        )
    rename = {str(run.corrections): run.corrections.name} if run.corrections else {}
    if run.stop_reason == "timed_out":
        reason = f"timed out after {timeout_s:g}s; training was stopped"
    elif run.stop_reason == "cancelled":
        reason = "cancelled; training was stopped"
    elif run.stop_reason == "lost_lease":
        reason = "stopped: another replica declared this one dead (its lease expired)"
    else:
        reason = failure_reason(outcome, rename)
    if run.stop_reason or outcome.kind == "interrupted":
        if serving_after != run.serving_before:
            reason += f"; it had already promoted {serving_after} before it stopped"
        else:
            reason += "; the serving model is unchanged"
    status = run.stop_reason if run.stop_reason in ("cancelled", "timed_out") else "failed"
    return JobResult(
        run.job.id,
        status,
        reason=reason,
        kind=outcome.kind,
        problems=outcome.problems,
        **base,
    )
