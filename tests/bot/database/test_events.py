"""Slack event keys: claimed once across replicas and restarts, pruned when old."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from bot.database import Database


def test_keys_are_claimed_once_and_a_partial_overlap_claims_nothing(db: Database) -> None:
    assert db.events.claim(["event:Ev1", "message:C1:1.0"])
    assert not db.events.claim(["event:Ev1", "message:C1:1.0"])  # redelivery
    assert not db.events.claim(["event:Ev2", "message:C1:1.0"])  # same message, new id
    assert db.events.claim(["event:Ev3", "message:C1:3.0"])
    assert db.events.claim(["event:Ev2"])  # the failed claim above inserted nothing


def test_a_claim_survives_reopening(database_url: str) -> None:
    with Database(database_url) as first:
        assert first.events.claim(["event:Ev1"])
    with Database(database_url) as again:
        assert not again.events.claim(["event:Ev1"])


def test_of_racing_replicas_exactly_one_claims(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(6)]
    barrier = threading.Barrier(len(databases))
    results: list[bool] = []

    def race(n: int) -> None:
        barrier.wait()
        results.append(databases[n].events.claim(["event:EvRace", "message:C1:9.0"]))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(databases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.close()
    assert sorted(results) == [False] * 5 + [True]


def test_old_keys_are_pruned(db: Database) -> None:
    db.events.claim(["event:old"])
    time.sleep(0.6)  # old is then always older than the TTL; new has 0.5 s to be pruned in
    db.events.claim(["event:new"])
    assert db.events.prune(timedelta(milliseconds=500)) == 1
    assert db.events.claim(["event:old"]) and not db.events.claim(["event:new"])


def test_long_keys_are_hashed_not_truncated_into_each_other(db: Database) -> None:
    prefix = "message:C1:" + "x" * 250
    first, second = prefix + ":1", prefix + ":2"
    assert db.events.claim([first]) and db.events.claim([second])
    assert not db.events.claim([first]) and not db.events.claim([second, "event:new"])
    assert db.events.claim(["event:new"]) and db.events.claim([])
