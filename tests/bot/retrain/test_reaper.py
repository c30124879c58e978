"""The reaper: a dead replica's job is marked interrupted and reported once; old event keys go."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from bot.database import Database, JobRecord
from bot.database.signatures import WINDOW_S
from bot.retrain.reaper import Reaper, start_reaper
from bot.retrain.runner import RetrainRunner
from tests.bot.stubs import services_for
from tests.conftest import make_rows, write_csv


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "data" / "heed.sqlite3")
    yield database
    database.close()


def dead_job(db: Database) -> JobRecord:
    """A job whose replica stopped renewing its lease a moment ago."""
    job = db.jobs.claim("retrain", "UADMIN", owner="gone:1", lease=timedelta(milliseconds=20))
    time.sleep(0.05)
    return job


def test_a_dead_job_is_reported_once_and_a_failing_report_is_contained(db: Database) -> None:
    job = dead_job(db)
    reported: list[int] = []

    def report(record: JobRecord) -> None:
        reported.append(record.id)
        raise RuntimeError("Slack is down")

    reaper = Reaper(db, interval_s=60, on_interrupted=report)
    assert [r.id for r in reaper.tick()] == [job.id]
    assert reaper.tick() == [] and reported == [job.id]
    assert db.jobs.get(job.id).status == "interrupted"


def test_old_event_keys_and_signatures_are_pruned_on_the_first_tick(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.retrain.reaper.EVENT_TTL", timedelta(milliseconds=10))
    db.events.claim(["event:old"])
    stale = int(time.time()) - 3 * WINDOW_S
    db.signatures.claim("v0=old", stale)
    time.sleep(0.05)
    Reaper(db, interval_s=60, on_interrupted=print).tick()
    assert db.events.claim(["event:old"]) and db.signatures.claim("v0=old", stale)


def test_the_thread_ticks_until_stopped(db: Database) -> None:
    job = dead_job(db)
    reported: list[int] = []
    reaper = Reaper(db, interval_s=0.05, on_interrupted=lambda r: reported.append(r.id))
    reaper.start()
    deadline = time.monotonic() + 5
    while not reported and time.monotonic() < deadline:
        time.sleep(0.02)
    reaper.stop()
    assert reported == [job.id]


def test_a_retrain_reports_the_dead_job_it_replaces(tmp_path: Path, db: Database) -> None:
    job = dead_job(db)
    reported: list[int] = []
    reaper = Reaper(db, interval_s=60, on_interrupted=lambda r: reported.append(r.id))
    export = write_csv(tmp_path / "export.csv", make_rows(2))
    runner = RetrainRunner(tmp_path / "models", [export], db, timeout_s=5, python="/nonexistent")
    runner.before_claim = reaper.tick
    with pytest.raises(Exception, match="could not start training"):
        runner.start("UADMIN")
    assert reported == [job.id]  # reported before the claim could expire it silently


def test_the_retention_sweep_runs_hourly_and_a_failing_one_is_contained(db: Database) -> None:
    sweeps: list[int] = []

    def sweep() -> None:
        sweeps.append(1)
        raise RuntimeError("disk full")

    reaper = Reaper(db, interval_s=60, on_interrupted=lambda record: None, housekeeping=sweep)
    reaper.tick()
    reaper.tick()  # within the hour: not again
    assert sweeps == [1]


def test_start_reaper_reports_in_slack_and_ticks_before_each_claim(
    tmp_path: Path, db: Database
) -> None:
    job = db.jobs.claim(
        "retrain", "UADMIN", owner="gone:1", lease=timedelta(milliseconds=20), channel="C1"
    )
    time.sleep(0.05)
    services = services_for(tmp_path, db=db, job_lease=3.0)
    runner = services.runners["default"]
    client = MagicMock()
    reaper = start_reaper(db, services, client)
    try:
        assert runner.before_claim == reaper.tick
        deadline = time.monotonic() + 5
        while not client.chat_postMessage.called and time.monotonic() < deadline:
            time.sleep(0.02)
        assert db.jobs.get(job.id).status == "interrupted"
    finally:
        reaper.stop()
        services.close()
    line = client.chat_postMessage.call_args.kwargs["text"]
    assert f"retraining job #{job.id} was interrupted" in line


def test_every_round_runs_its_cheap_work_and_a_failing_one_is_contained(db: Database) -> None:
    rounds: list[int] = []

    def apply_tombstones() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("exports folder unreadable")

    reaper = Reaper(db, interval_s=60, on_interrupted=print, every_round=apply_tombstones)
    reaper.tick()
    reaper.tick()
    assert rounds == [0, 1]  # unlike the hourly sweep: every round
