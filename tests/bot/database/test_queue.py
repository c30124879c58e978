"""The labelling queue on SQLite and PostgreSQL: most uncertain first, per task, one row per
normalised text, never the same text twice (queued, evicted or labelled), bounded, purged with
its prediction, and digest claims won by one caller."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import text as sql

from bot.database import Database
from bot.database.queue import QueueOffer, Suggestion, is_double, text_hash
from tests.bot.stubs import digest_outcomes

SCORES = {"negative": 0.5, "neutral": 0.3, "positive": 0.2}


def queued(
    db: Database,
    text: str,
    uncertainty: float,
    *,
    task: str = "default",
    size: int = 200,
    user: str = "U1",
    source: str = "autotag",
) -> int:
    """Record a prediction offered to the queue; returns its id."""
    return db.predictions.record(
        text=text,
        label="negative",
        confidence=0.5,
        scores=SCORES,
        channel="C1",
        user=user,
        message_ts="1.0",
        source=source,
        task=task,
        queue=QueueOffer(uncertainty, size=size),
    )


def open_texts(db: Database, task: str = "default", n: int = 10) -> list[str]:
    return [item.prediction.text for item in db.queue.top(task, n)]


def test_text_hash_folds_case_and_whitespace() -> None:
    assert text_hash("Refund  please\n") == text_hash("refund please")
    assert text_hash("refund please") != text_hash("refund, please")


def test_most_uncertain_first_per_task_and_deduplicated(db: Database) -> None:
    queued(db, "sure thing", 0.1)
    first = queued(db, "no idea at all", 0.9)
    queued(db, "somewhat unsure", 0.5)
    queued(db, "No  idea at ALL", 0.95)  # the same text again: not queued a second time
    queued(db, "support only", 0.99, task="support")
    db.predictions.record(text="not offered", label="neutral", scores=SCORES)  # no queue
    assert open_texts(db) == ["no idea at all", "somewhat unsure", "sure thing"]
    assert open_texts(db, "support") == ["support only"]
    top = db.queue.top("default", 1)
    assert [(i.prediction.id, i.uncertainty) for i in top] == [(first, 0.9)]
    assert top[0].prediction.source == "autotag" and top[0].prediction.channel == "C1"


def test_an_answer_takes_the_text_out_for_good(db: Database) -> None:
    pid = queued(db, "no idea at all", 0.9)
    queued(db, "somewhat unsure", 0.5)
    db.predictions.record_answer(pid, "U3", "positive", role="labeler")
    assert open_texts(db) == ["somewhat unsure"] and db.queue.status(pid) == "answered"
    db.predictions.record_answer(pid, "U4", "neutral", role="labeler")  # a second answer
    assert open_texts(db) == ["somewhat unsure"]
    queued(db, "no idea at all", 0.99)  # the same text again, later
    assert open_texts(db) == ["somewhat unsure"]


def test_a_labelled_text_never_enters(db: Database) -> None:
    asked = db.predictions.record(text="label me once", label="neutral", scores=SCORES)
    db.predictions.record_answer(asked, "U2", "positive", role="labeler")
    queued(db, "Label me once", 0.9)
    assert open_texts(db) == []


def test_a_suggestion_goes_first_until_a_trusted_answer_closes_it(db: Database) -> None:
    queued(db, "very unsure", 0.99)
    asked = queued(db, "suggest me", 0.1, source="classify")
    in_dm = db.predictions.record(text="asked in a DM", label="neutral", user="U1")  # not offered
    db.predictions.record_answer(in_dm, "U1", "positive", role="asker")
    db.predictions.record_answer(asked, "U1", "positive", role="asker")
    queued(db, "Suggest  me", 0.9)  # the same text offered again: still one item
    first, second = db.queue.top("default", 10)
    assert (first.prediction.id, second.prediction.text) == (asked, "very unsure")
    assert first.suggestions == (Suggestion("U1", label="positive"),)
    assert second.suggestions == () and db.queue.status(in_dm) is None
    assert db.queue.status(asked) == "suggested"
    db.predictions.record_answer(asked, "U1", "neutral", role="asker")  # still a suggestion
    assert db.queue.status(asked) == "suggested"
    db.predictions.record_answer(asked, "U3", "neutral", role="labeler")
    assert db.queue.status(asked) == "answered" and open_texts(db) == ["very unsure"]
    db.predictions.record_answer(asked, "U1", "positive", role="asker")  # decided already
    assert db.queue.status(asked) == "answered"


def test_a_double_labelled_item_waits_for_a_second_labeler(db: Database) -> None:
    double = db.predictions.record(
        text="two please",
        label="negative",
        scores=SCORES,
        queue=QueueOffer(0.9, double_share=1.0),
    )
    single = queued(db, "one is enough", 0.5)
    assert [i.labels_wanted for i in db.queue.top("default", 10)] == [2, 1]
    db.predictions.record_answer(double, "U3", "negative", role="labeler")
    assert db.queue.status(double) == "open"
    assert [i.prediction.id for i in db.queue.top("default", 10, viewer="U3")] == [single]
    assert [i.prediction.id for i in db.queue.top("default", 10, viewer="U4")] == [double, single]
    db.predictions.record_answer(double, "U4", "negative", role="labeler")
    assert db.queue.status(double) == "answered"


def test_the_double_share_is_decided_by_the_text() -> None:
    hashes = [text_hash(f"text {i}") for i in range(2000)]
    chosen = sum(is_double(h, 0.1) for h in hashes)
    assert 150 < chosen < 250
    assert not any(is_double(h, 0.0) for h in hashes) and all(is_double(h, 1.0) for h in hashes)


def test_the_bound_keeps_the_most_uncertain_and_evicted_texts_stay_out(db: Database) -> None:
    for i, u in enumerate([0.2, 0.8, 0.5, 0.9]):
        queued(db, f"text {i}", u, size=2)
    assert open_texts(db) == ["text 3", "text 1"]
    queued(db, "text 0", 0.99, size=2)  # evicted once: never offered again
    assert open_texts(db) == ["text 3", "text 1"]
    queued(db, "text 9", 0.1, size=2)  # less sure than the two kept: evicted at once
    assert open_texts(db) == ["text 3", "text 1"]


def test_old_items_leave_the_window(db: Database) -> None:
    queued(db, "old one", 0.9)
    with db.write() as conn:
        conn.execute(sql("UPDATE label_queue SET created = '2000-01-01T00:00:00.000000+00:00'"))
    assert open_texts(db) == []
    queued(db, "new one", 0.1)  # the insert evicts the stale item
    with db.read() as conn:
        rows = conn.execute(sql("SELECT status, COUNT(*) FROM label_queue GROUP BY status"))
        statuses = {status: count for status, count in rows}
    assert statuses == {"evicted": 1, "open": 1}


def test_retention_and_forget_purge_queued_texts(db: Database) -> None:
    queued(db, "written by U7", 0.9, user="U7")
    kept = queued(db, "written by U8", 0.8, user="U8")
    db.forgetting.forget_person("U7")
    assert open_texts(db) == ["written by U8"]
    with db.write() as conn:
        conn.execute(sql("UPDATE predictions SET created = '2000-01-01T00:00:00.000000+00:00'"))
    assert db.predictions.prune_unlabelled(timedelta(days=90)) == 1
    assert open_texts(db) == [] and db.queue.status(kept) is None
    with db.read() as conn:
        assert conn.execute(sql("SELECT COUNT(*) FROM label_queue")).scalar() == 0


def test_concurrent_offers_of_one_text_keep_one_row(db: Database) -> None:
    start = threading.Barrier(4)

    def offer() -> None:
        start.wait()
        queued(db, "the same burst", 0.7)

    threads = [threading.Thread(target=offer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as conn:
        assert conn.execute(sql("SELECT COUNT(*) FROM label_queue")).scalar() == 1
    assert open_texts(db) == ["the same burst"]


def test_a_digest_is_claimed_once(db: Database) -> None:
    assert db.queue.claim_digest("default", "every-60s:1", "U3", "host:1")
    assert not db.queue.claim_digest("default", "every-60s:1", "U3", "host:2")
    assert db.queue.claim_digest("default", "every-60s:2", "U3", "host:2")
    assert db.queue.claimed_digests("default", "every-60s:1") == {"U3"}
    db.queue.finish_digest("default", "every-60s:1", "U3", "sent 2")
    assert digest_outcomes(db, "default", "every-60s:1") == {"U3": "sent 2"}
    assert db.queue.prune_digests(timedelta(0)) == 2


def test_replicas_claiming_one_digest_at_once_send_it_once(db: Database) -> None:
    start, wins = threading.Barrier(4), []

    def claim(owner: str) -> None:
        start.wait()
        wins.append(db.queue.claim_digest("default", "daily@09:00:2026-11-28", "U3", owner))

    threads = [threading.Thread(target=claim, args=(f"r{i}:1",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]
