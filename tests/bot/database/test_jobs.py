"""Retraining jobs: claimed once across the cluster, leases renewed and expired, finished."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from bot.database import Database, JobConflict
from bot.database.jobs import EXPIRED

LEASE = timedelta(seconds=30)


def claim(db: Database, owner: str = "replica-a", lease: timedelta = LEASE, **kw: str):
    return db.jobs.claim("retrain", kw.pop("by", "UADMIN"), owner=owner, lease=lease, **kw)


def test_a_job_from_claim_to_finish(db: Database) -> None:
    job = claim(db, channel="C9", message_ts="1700000000.1")
    assert job.status == "running" and job.started is not None
    assert (job.owner, job.channel, job.message_ts) == ("replica-a", "C9", "1700000000.1")
    assert job.lease_expires is not None and job.finished is None
    assert db.jobs.running() == job == db.jobs.get(job.id)
    done = db.jobs.finish(
        job.id, "succeeded", owner="replica-a", version="v1", promoted=True, metrics={"f1": 0.9}
    )
    assert (done.status, done.version, done.promoted, done.metrics) == (
        "succeeded",
        "v1",
        True,
        {"f1": 0.9},
    )
    assert done.finished is not None and db.jobs.running() is None


def test_a_second_claim_gets_the_running_job(db: Database) -> None:
    first = claim(db, "replica-a")
    with pytest.raises(JobConflict) as info:
        claim(db, "replica-b", by="UOTHER")
    assert info.value.existing.id == first.id and info.value.existing.owner == "replica-a"
    db.jobs.finish(first.id, "failed", owner="replica-a", message="boom")
    assert claim(db, "replica-b").owner == "replica-b"


def test_of_racing_claims_exactly_one_wins(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(6)]
    barrier = threading.Barrier(len(databases))
    won, lost, errors = [], [], []

    def race(n: int) -> None:
        try:
            barrier.wait()
            won.append(claim(databases[n], f"replica-{n}").id)
        except JobConflict as exc:
            lost.append(exc.existing.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(databases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.close()
    assert errors == [] and len(won) == 1 and lost == won * (len(databases) - 1)


def test_the_owner_renews_others_cannot(db: Database) -> None:
    job = claim(db, lease=timedelta(seconds=1))
    before = db.jobs.get(job.id).lease_expires
    assert not db.jobs.renew(job.id, "replica-b", LEASE, progress="stolen")
    assert db.jobs.renew(job.id, "replica-a", LEASE, progress="epoch 1/4")
    renewed = db.jobs.get(job.id)
    assert renewed.lease_expires > before and renewed.progress == "epoch 1/4"


def test_an_expired_lease_is_interrupted_once_and_frees_the_slot(db: Database) -> None:
    live = claim(db, "replica-a", lease=timedelta(milliseconds=50))
    time.sleep(0.1)
    assert [j.id for j in db.jobs.expire_stale()] == [live.id]
    assert db.jobs.expire_stale() == []  # reported once
    dead = db.jobs.get(live.id)
    assert (dead.status, dead.message) == ("interrupted", EXPIRED)
    assert not db.jobs.renew(live.id, "replica-a", LEASE)  # its replica has lost it
    after = db.jobs.finish(live.id, "succeeded", owner="replica-a", version="late")
    assert after.status == "interrupted" and after.version is None
    assert claim(db, "replica-b").owner == "replica-b"


def test_a_live_lease_is_left_alone_and_claim_expires_dead_ones(db: Database) -> None:
    job = claim(db, "replica-a", lease=timedelta(milliseconds=50))
    time.sleep(0.1)
    fresh = claim(db, "replica-b")  # the claim itself expires the dead one first
    assert db.jobs.get(job.id).status == "interrupted" and fresh.status == "running"
    assert db.jobs.expire_stale() == [] and db.jobs.running() == fresh


def test_recent_newest_first_and_only_final_statuses_finish(db: Database) -> None:
    first = claim(db)
    db.jobs.finish(first.id, "cancelled", message="cancelled; training was stopped")
    second = claim(db)
    assert [j.id for j in db.jobs.recent(5)] == [second.id, first.id]
    assert [j.id for j in db.jobs.recent(1)] == [second.id] and db.jobs.recent(0) == []
    for status in ("running", "queued", "exploded"):
        with pytest.raises(ValueError):
            db.jobs.finish(second.id, status)
    with pytest.raises(LookupError):
        db.jobs.get(second.id + 1)


def test_one_running_job_per_task(db: Database) -> None:
    support = claim(db, task="support")
    moderation = claim(db, owner="replica-b", task="moderation")
    assert (support.task, moderation.task) == ("support", "moderation")
    with pytest.raises(JobConflict) as caught:
        claim(db, owner="replica-c", task="support")
    assert caught.value.existing.id == support.id
    assert db.jobs.running("moderation") == moderation and db.jobs.running() is None
    db.jobs.finish(support.id, "succeeded", owner="replica-a")
    again = claim(db, owner="replica-c", task="support")
    assert db.jobs.running("support") == again
    assert [j.id for j in db.jobs.recent(5, "support")] == [again.id, support.id]


def test_finish_only_moves_a_running_job(db: Database) -> None:
    expired = claim(db, lease=timedelta(milliseconds=50))
    time.sleep(0.1)
    db.jobs.expire_stale()
    after = db.jobs.finish(expired.id, "cancelled", message="cancelled by ULATE")
    assert (after.status, after.message) == ("interrupted", EXPIRED)
    done = claim(db)
    db.jobs.finish(done.id, "succeeded", owner="replica-a", version="v1")
    again = db.jobs.finish(done.id, "failed", message="late")
    assert (again.status, again.version, again.message) == ("succeeded", "v1", None)


def test_a_cancel_request_keeps_the_slot_and_stops_renewals(db: Database) -> None:
    job = claim(db)
    assert db.jobs.request_cancel(job.id, "cancelled by UOTHER")
    assert db.jobs.running() == db.jobs.get(job.id)  # the slot stays taken
    assert db.jobs.get(job.id).cancel_requested == "cancelled by UOTHER"
    assert not db.jobs.renew(job.id, "replica-a", LEASE)  # tells the owner to stop
    done = db.jobs.finish(job.id, "cancelled", owner="replica-a", message="training stopped")
    assert (done.status, done.message) == ("cancelled", "cancelled by UOTHER")
    assert db.jobs.running() is None and not db.jobs.request_cancel(job.id, "again")
