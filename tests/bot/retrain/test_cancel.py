"""/heed-admin cancel reaches a job on another replica: its row is marked cancelled, and the
replica running it stops its child at the next lease renewal and reports it cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.database import Database
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
