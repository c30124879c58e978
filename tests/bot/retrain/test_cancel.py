"""/heed-admin cancel reaches a job on another replica: a cancel is requested in its row, and the
replica running it stops its child at the next lease renewal and records it cancelled; the
task's slot stays taken until then. A lease that cannot be renewed stops the child too."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.database import Database
from bot.retrain.jobs import JobAlreadyRunning
from bot.retrain.runner import RetrainRunner
from tests.bot.retrain.test_runner import fake_python, group_gone
from tests.conftest import make_rows, write_csv


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "heed.sqlite3")
    yield database
    database.close()


def test_a_job_on_another_replica_is_cancelled_through_its_row(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    python = fake_python(tmp_path, "sleep 60")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    a = RetrainRunner(
        store_dir,
        [export],
        db,
        timeout_s=60,
        python=python,
        owner="a:1",
        lease_s=1.5,
        kill_grace_s=0.3,
    )
    b = RetrainRunner(store_dir, [export], db, timeout_s=60, python=python, owner="b:1")
    job = a.start("UADMIN")
    running = b.running()
    assert running is not None and running.owner == "a:1" and b.cancel() is False
    assert b.cancel_elsewhere(job.id, "UOTHER") is True
    result = job.wait(20)
    assert result is not None and result.status == "cancelled", result
    assert result.reason == "cancelled; training was stopped; the serving model is unchanged"
    assert group_gone(job.proc.pid)
    record = db.jobs.get(job.id)
    assert record.status == "cancelled" and record.message == "cancelled by UOTHER"
    assert b.cancel_elsewhere(job.id, "UOTHER") is False and db.jobs.running() is None


def test_the_slot_stays_taken_until_the_cancelled_child_has_exited(
    tmp_path: Path, store_dir: Path, db: Database
) -> None:
    python = fake_python(tmp_path, "trap '' INT\nsleep 60")  # ignores the polite stop
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    a = RetrainRunner(
        store_dir, [export], db, timeout_s=60, python=python, owner="a:1", kill_grace_s=1.0
    )
    b = RetrainRunner(store_dir, [export], db, timeout_s=60, python=python, owner="b:1")
    job = a.start("UADMIN")
    assert b.cancel_elsewhere(job.id, "UOTHER") is True
    assert b.cancel_elsewhere(job.id, "USECOND") is True  # still running: asked again, fine
    assert db.jobs.running() is not None  # the child still trains: no second job may start
    with pytest.raises(JobAlreadyRunning):
        b.start("UOTHER")
    result = job.wait(20)
    assert result is not None and result.status == "cancelled", result
    assert group_gone(job.proc.pid)
    record = db.jobs.get(job.id)
    assert (record.status, record.message) == ("cancelled", "cancelled by UOTHER")
    assert db.jobs.running() is None


def test_a_lease_that_cannot_be_renewed_stops_the_child_when_it_would_expire(
    tmp_path: Path, store_dir: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = fake_python(tmp_path, "sleep 60")
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = RetrainRunner(
        store_dir, [export], db, timeout_s=60, python=python, lease_s=1.0, kill_grace_s=0.3
    )

    def unreachable(*args: object, **kwargs: object) -> bool:
        raise OSError("connection refused")

    monkeypatch.setattr(db.jobs, "renew", unreachable)
    started = time.monotonic()
    job = runner.start("UADMIN")
    result = job.wait(10)
    assert result is not None and result.status == "failed", result
    assert result.reason is not None and "lease could not be renewed" in result.reason
    assert 1.0 <= time.monotonic() - started < 5
    assert group_gone(job.proc.pid)
