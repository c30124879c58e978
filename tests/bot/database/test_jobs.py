"""Retraining jobs as stored: started, finished, listed newest first, stale ones failed."""

from __future__ import annotations

import pytest

from bot.database import Database
from bot.database.schema import ACTIVE_JOB_STATUSES, FINAL_JOB_STATUSES, JOB_STATUSES


def test_a_job_from_start_to_finish(db: Database) -> None:
    job = db.jobs.start("retrain", "UADMIN", channel="C9", message_ts="1700000000.1")
    assert job.status == "running" and job.started is not None and job.active
    assert job.finished is None and (job.channel, job.message_ts) == ("C9", "1700000000.1")
    assert db.jobs.get(job.id) == job
    done = db.jobs.finish(
        job.id, "succeeded", version="v1", promoted=True, metrics={"macro_f1": 0.9}
    )
    assert (done.status, done.version, done.promoted, done.metrics) == (
        "succeeded",
        "v1",
        True,
        {"macro_f1": 0.9},
    )
    assert done.finished is not None and done.message_ts == "1700000000.1" and not done.active
    assert db.jobs.get(job.id) == done


def test_recent_jobs_newest_first_and_stale_ones_failed(db: Database) -> None:
    first = db.jobs.start("retrain", "UADMIN")
    db.jobs.finish(first.id, "cancelled", message="cancelled; training was stopped")
    second = db.jobs.start("retrain", "UADMIN")
    assert [j.id for j in db.jobs.recent(5)] == [second.id, first.id]
    assert [j.id for j in db.jobs.recent(1)] == [second.id] and db.jobs.recent(0) == []
    assert db.jobs.fail_stale() == 1
    stale = db.jobs.get(second.id)
    assert stale.status == "failed" and stale.finished is not None
    assert stale.message == "interrupted: the bot stopped while this job ran"
    assert db.jobs.get(first.id).status == "cancelled"  # finished jobs are left alone
    assert db.jobs.fail_stale() == 0


def test_only_final_statuses_finish_a_job_and_unknown_ids_raise(db: Database) -> None:
    job = db.jobs.start("retrain", None)
    for status in ("running", "queued", "exploded"):
        with pytest.raises(ValueError):
            db.jobs.finish(job.id, status)
    assert db.jobs.get(job.id).status == "running"
    with pytest.raises(LookupError):
        db.jobs.get(job.id + 1)
    with pytest.raises(LookupError):
        db.jobs.finish(job.id + 1, "failed")
    assert set(JOB_STATUSES) == {*ACTIVE_JOB_STATUSES, *FINAL_JOB_STATUSES}
