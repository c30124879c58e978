"""The durable auto-tag queue: stored with its event keys, taken once under a lease by racing
replicas, taken again when a lease lapses, given up when too old, forgotten with its author."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from bot.database import Database
from bot.database.pending import MAX_ATTEMPTS, Arrivals

LEASE = timedelta(seconds=60)
LAPSED = timedelta(seconds=-1)  # a lease already over: the taker "died"


def queue(db: Database, ts: str, event_id: str | None = None, user: str = "U1") -> bool:
    keys = [f"event:{event_id}"] if event_id else []
    return db.pending.enqueue(keys, channel="C1", message_ts=ts, text=f"text {ts}", user=user)


def test_a_message_is_queued_once_with_its_event_keys(db: Database) -> None:
    assert queue(db, "1.1", "Ev1")
    assert not queue(db, "1.1", "Ev1")  # redelivered
    assert not queue(db, "1.1", "Ev2")  # the same message under another event id
    assert not queue(db, "2.2", "Ev1")  # nothing stored when a key was claimed
    assert db.pending.depth().pending == 1
    assert not db.events.claim(["message:C1:1.1"]) and db.events.claim(["event:Ev2"])


def test_a_taken_message_is_not_taken_again_until_its_lease_lapses(db: Database) -> None:
    for ts in ("1.1", "2.2", "3.3"):
        queue(db, ts)
    first = db.pending.take("replica-a", 2, LEASE)
    assert [t.message_ts for t in first] == ["1.1", "2.2"]  # oldest first
    assert [t.attempts for t in first] == [1, 1] and first[0].text == "text 1.1"
    assert [t.message_ts for t in db.pending.take("replica-b", 5, LAPSED)] == ["3.3"]
    [retaken] = db.pending.take("replica-c", 5, LEASE)  # replica-b died: its lease lapsed
    assert (retaken.message_ts, retaken.attempts) == ("3.3", 2)
    assert db.pending.take("replica-c", 5, LEASE) == []
    db.pending.finish(first[0].id)
    db.pending.release(first[1].id, "replica-a")
    [handed_back] = db.pending.take("replica-d", 5, LEASE)
    assert (handed_back.message_ts, handed_back.attempts) == ("2.2", 1)
    assert db.pending.depth().pending == 2


def test_racing_replicas_take_each_message_once(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(4)]
    try:
        for i in range(40):
            queue(databases[0], f"{i}.0")
        barrier = threading.Barrier(len(databases))
        taken: list[str] = []

        def worker(db: Database, owner: str) -> None:
            barrier.wait()
            while batch := db.pending.take(owner, 3, LEASE):
                taken.extend(t.message_ts for t in batch)

        threads = [
            threading.Thread(target=worker, args=(db, f"r{n}")) for n, db in enumerate(databases)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(taken) == sorted(f"{i}.0" for i in range(40))
    finally:
        for db in databases:
            db.close()


def test_old_or_crashing_messages_are_given_up_once_no_lease_holds_them(db: Database) -> None:
    queue(db, "1.1")
    queue(db, "2.2")
    [held] = db.pending.take("replica-a", 1, LEASE)
    gone = db.pending.give_up(timedelta(0))
    assert [t.message_ts for t in gone] == ["2.2"]  # 1.1 is held: its worker may finish it
    db.pending.release(held.id, "replica-a")
    for _ in range(MAX_ATTEMPTS):
        assert db.pending.take("replica-a", 1, LAPSED)
    assert db.pending.take("replica-b", 1, LEASE) == []  # taken too often: not again
    [crashing] = db.pending.give_up(timedelta(hours=1))
    assert crashing.attempts == MAX_ATTEMPTS and db.pending.depth().pending == 0


def test_the_depth_counts_every_message_and_the_oldest(db: Database) -> None:
    assert db.pending.depth().pending == 0 and db.pending.depth().oldest is None
    queue(db, "1.1")
    queue(db, "2.2")
    db.pending.take("replica-a", 1, LEASE)
    depth = db.pending.depth()
    assert depth.pending == 2 and depth.oldest is not None


def test_forget_deletes_the_waiting_texts_of_that_author(db: Database) -> None:
    queue(db, "1.1", user="U1")
    queue(db, "2.2", user="U2")
    db.pending.mark_noted(1)
    db.forgetting.forget_person("U1")
    assert [t.user for t in db.pending.take("replica-a", 5, LEASE)] == ["U2"]


def test_a_deleted_message_leaves_the_queue_untagged(db: Database) -> None:
    queue(db, "1.1", user="U1")
    queue(db, "2.2", user="U1")
    db.forgetting.forget_message("C1", "1.1")
    assert [t.message_ts for t in db.pending.take("replica-a", 5, LEASE)] == ["2.2"]


def test_an_autotag_prediction_is_found_by_channel_and_ts(db: Database) -> None:
    assert db.pending.recorded("C1", "1.1") is None
    db.predictions.record(text="hi", label="x", channel="C1", message_ts="1.1")  # a reply
    assert db.pending.recorded("C1", "1.1") is None
    pid = db.predictions.record(
        text="hi", label="x", channel="C1", message_ts="1.1", source="autotag"
    )
    assert db.pending.recorded("C1", "1.1") == pid


def test_arrivals_count_refused_redeliveries_too(db: Database) -> None:
    for _ in range(2):  # the second is refused, but its ack cost the listener all the same
        db.pending.enqueue(["event:E1"], channel="C1", message_ts="1.0", text="hi")
    assert db.pending.arrivals.rate(10.0) == pytest.approx(0.2)


def test_the_arrival_rate_forgets_what_is_older_than_its_window() -> None:
    arrivals = Arrivals()
    for _ in range(5):
        arrivals.add()
    assert arrivals.rate(0.5) == 10.0
    time.sleep(0.06)
    assert arrivals.rate(0.05) == 0.0
