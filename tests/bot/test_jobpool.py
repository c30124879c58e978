"""The bounded job pool: refuses at once when full, frees a slot when a job ends."""

from __future__ import annotations

import threading

import pytest

from bot.jobpool import Busy, JobPool


def test_a_full_pool_refuses_and_a_finished_job_frees_its_slot() -> None:
    pool = JobPool(workers=1, capacity=2)
    release = threading.Event()
    try:
        first = pool.submit(release.wait, 5)
        pool.submit(lambda: "queued")
        assert pool.pending == 2
        with pytest.raises(Busy):
            pool.submit(lambda: "refused")
        release.set()
        assert first.result(timeout=5) is True
        assert pool.wait_idle(5) and pool.pending == 0
        assert pool.submit(lambda: "again").result(timeout=5) == "again"
    finally:
        release.set()
        pool.shutdown()


def test_a_failing_job_frees_its_slot_too() -> None:
    pool = JobPool(workers=1, capacity=1)
    try:
        with pytest.raises(ZeroDivisionError):
            pool.submit(lambda: 1 / 0).result(timeout=5)
        assert pool.wait_idle(5)
        assert pool.submit(lambda: 2).result(timeout=5) == 2
    finally:
        pool.shutdown()
