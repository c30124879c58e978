"""What the admin, retrain and home blocks are drawn from: a model's metadata, stored jobs,
a running job and a job's result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.database import JobRecord
from bot.database.records import RunningJob
from bot.retrain.contract import parse_result
from bot.retrain.jobs import JobResult, describe_progress

V1, V2 = "20260101-000000-abcdef", "20260102-000000-bcdef0"
LABELS = ["negative", "neutral", "positive"]

METADATA = {
    "version": V2,
    "labels": LABELS,
    "metrics": {
        "accuracy": 0.9,
        "macro_f1": 0.88,
        "per_class": {
            label: {"precision": 0.9, "recall": 0.85, "f1": 0.87, "support": 10} for label in LABELS
        },
    },
    "rows": {"train": 80, "eval": 30},
    "created": "2026-01-02T00:00:00+00:00",
}


def job_record(job_id: int, status: str, **kw: Any) -> JobRecord:
    """A stored job, finished three minutes after 2026-01-02 12:00 UTC."""
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    fields = {
        "id": job_id,
        "kind": "retrain",
        "requested_by": "UADMIN",
        "created": now,
        "started": now,
        "finished": now + timedelta(minutes=3),
        "status": status,
        "version": None,
        "promoted": None,
        "metrics": None,
        "message": None,
        "channel": "C1",
        "message_ts": "1.1",
    }
    fields.update(kw)
    return JobRecord(**fields)


def running_job() -> RunningJob:
    """Job #3, started 42 s ago by UADMIN, half way through its first epoch."""
    start = {"event": "start", "epochs": 2, "total_steps": 10}
    step = {"event": "step", "epoch": 1, "step": 5, "total_steps": 10, "loss": 0.5}
    started = datetime.now(UTC) - timedelta(seconds=42)
    return RunningJob(3, "UADMIN", started, describe_progress(step, start))


JOBS = [
    job_record(
        2,
        "succeeded",
        version=V2,
        promoted=True,
        metrics={"macro_f1": 0.88},
        message="eval macro-F1 0.8800 is not worse than the old model's 0.5000",
    ),
    job_record(1, "failed", message="bad.csv:1: missing column 'label'"),
]


def result(**kw: Any) -> JobResult:
    """Job #5's success (the training CLI's JSON, updated with ``kw``)."""
    outcome = {
        "ok": True,
        "version": V2,
        "path": "/nowhere",
        "labels": LABELS,
        "metrics": METADATA["metrics"],
        "promoted": True,
        "promotion": {"reason": "eval macro-F1 0.8800 is not worse than old's 0.5000"},
        "rows": {"train": 80, "eval": 30},
    }
    outcome.update(kw)
    return JobResult(5, "succeeded", parse_result(outcome, 0), seconds=12.3, corrections_rows=4)
