"""Appeals on SQLite and PostgreSQL: filing puts the message first in the queue, a decision
closes each open appeal once (upheld or changed), the count per author feeds the rate limit,
and forgetting the prediction deletes its appeals."""

from __future__ import annotations

from datetime import timedelta

from bot.database import Database
from bot.database.appeals import CHANGED, UPHELD
from bot.database.queue import QueueOffer, Suggestion


def tagged(db: Database, text: str = "where is my refund", author: str = "UAUTH") -> int:
    return db.predictions.record(
        text=text,
        label="negative",
        scores={"negative": 0.6, "neutral": 0.4},
        user=author,
        channel="C7",
        message_ts="5.0",
        source="autotag",
        queue=QueueOffer(0.1),
    )


def test_an_appeal_goes_first_and_a_trusted_answer_decides_it_once(db: Database) -> None:
    db.predictions.record(text="very unsure", label="neutral", queue=QueueOffer(0.99))
    pid = tagged(db)
    appeal = db.appeals.file(pid, "UAUTH", "  it is   a question\n")
    assert (appeal.status, appeal.reason, appeal.author) == ("open", "it is a question", "UAUTH")
    assert db.appeals.open_for(pid) == appeal
    first = db.queue.top("default", 5)[0]
    assert first.prediction.id == pid
    assert first.suggestions == (Suggestion("UAUTH", reason="it is a question"),)
    [decided] = db.appeals.decide(pid, "ULAB", "neutral", "negative")
    assert (decided.status, decided.decided_by, decided.decided_label) == (
        CHANGED,
        "ULAB",
        "neutral",
    )
    assert db.appeals.decide(pid, "ULAB2", "negative", "negative") == []  # told once
    assert db.appeals.open_for(pid) is None


def test_upheld_counted_per_author_and_forgotten_with_the_message(db: Database) -> None:
    pid = tagged(db)
    other = tagged(db, "another one")
    db.appeals.file(pid, "UAUTH", "")
    db.appeals.file(other, "UAUTH", "")
    assert db.appeals.filed_since("UAUTH", timedelta(days=1)) == 2
    assert db.appeals.filed_since("UOTHER", timedelta(days=1)) == 0
    assert db.appeals.filed_since("UAUTH", timedelta(0)) == 0
    assert db.appeals.decide(pid, "ULAB", "negative", "negative")[0].status == UPHELD
    db.forgetting.forget_person("UAUTH")
    assert db.appeals.open_for(other) is None
    assert db.appeals.filed_since("UAUTH", timedelta(days=1)) == 0
