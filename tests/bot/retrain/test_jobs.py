"""A job while it runs and how it ended: the fields the reports are drawn from."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.retrain.jobs import Job, JobAlreadyRunning, JobResult

V2 = "20260102-000000-bcdef0"


def test_a_succeeded_result_unpacks_the_training_json(tmp_path: Path) -> None:
    (tmp_path / V2).mkdir()
    (tmp_path / V2 / "confusion_matrix.png").write_bytes(b"\x89PNG")
    result = JobResult(
        3,
        "succeeded",
        result={
            "ok": True,
            "version": V2,
            "path": str(tmp_path / V2),
            "labels": ["a", "b"],
            "metrics": {"accuracy": 0.75, "macro_f1": 0.5},
            "promoted": False,
            "promotion": {"reason": "worse"},
        },
    )
    assert result.succeeded and result.version == V2 and not result.promoted
    assert result.labels == ["a", "b"] and result.promotion_reason == "worse"
    assert result.confusion_matrix_png == tmp_path / V2 / "confusion_matrix.png"
    assert result.reliability_png is None and result.calibration == {}  # an older CLI's JSON
    (tmp_path / V2 / "reliability_diagram.png").write_bytes(b"\x89PNG")
    result.result["calibration"] = {"temperature": 1.5, "calibrated": True}
    assert result.reliability_png == tmp_path / V2 / "reliability_diagram.png"
    assert result.calibration == {"temperature": 1.5, "calibrated": True}
    assert result.summary() == (
        f"trained {V2}: accuracy 0.750, macro-F1 0.500; not promoted (worse)"
    )


def test_a_failed_result_has_no_version_and_says_why() -> None:
    result = JobResult(4, "timed_out", reason="timed out after 5s", returncode=-9)
    assert not result.succeeded and result.version is None and result.metrics == {}
    assert result.confusion_matrix_png is None and result.labels == []
    assert result.summary() == "timed out: timed out after 5s"
    assert result.problems == () and result.kind is None


def test_a_job_is_done_once_finished() -> None:
    job = Job(5, "UADMIN", datetime(2026, 1, 2, 12, 0, 7, tzinfo=UTC), [], 0)
    assert not job.done and job.wait(0.01) is None
    assert job.progress_text().startswith("starting")
    result = JobResult(5, "cancelled", reason="cancelled")
    threading.Timer(0.05, job.finish, args=(result,)).start()
    assert job.wait(5) is result and job.done
    refused = JobAlreadyRunning(job.view())
    assert refused.job == job.view()
    assert str(refused) == (
        "a retraining job is already running (job 5, requested by UADMIN at 12:00:07 UTC)"
    )
