"""Forgetting in the database (SQLite and PostgreSQL): a person's texts go whether they asked
about them or wrote them (the shortcut records both), with the answers, the queue rows and the
posts quoting them, each text leaving a tombstone (its hash, never the text); a deleted message
takes only its auto-tag predictions; after the scrub no byte of a text is left in SQLite's files
(its write-ahead log included), and PostgreSQL's tables are vacuumed. A failed write never puts
the statement's parameters (people's texts) in the error."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text as sql
from sqlalchemy.exc import SQLAlchemyError

from bot.database import Database
from bot.database.connection import failure_line
from bot.database.forgetting import text_sha256
from bot.database.queue import QueueOffer

SECRET = "the narwhal ate my homework"


def record(db: Database, text: str, user: str, author: str | None = None, **kw: object) -> int:
    return db.predictions.record(
        text=text, label="neutral", user=user, author=author, queue=QueueOffer(0.5), **kw
    )


def test_forget_reaches_what_a_person_wrote_or_asked_and_their_answers(db: Database) -> None:
    clicked = record(db, SECRET, user="UMOD", author="UBO", channel="C1", message_ts="5.1")
    asked = record(db, "bo asking himself", user="UBO", channel="C1", message_ts="5.2")
    tagged = record(db, "bo in a tagged channel", user="UBO", source="autotag", channel="C2")
    other = record(db, "someone else", user="UMOD")
    db.predictions.record_answer(clicked, "ULAB", "negative", role="labeler")
    db.predictions.record_answer(other, "UBO", "negative", role="labeler")
    db.forgetting.remember_post("DULAB", "7.7", [clicked, other])

    gone = db.forgetting.forget_person("UBO")

    assert (gone.predictions, gone.answers) == (3, 1)
    assert gone.texts == {SECRET, "bo asking himself", "bo in a tagged channel"}
    assert gone.posts == {("C1", "5.1"), ("C1", "5.2"), ("DULAB", "7.7")}  # no author's message
    assert [db.predictions.get(pid) for pid in (clicked, asked, tagged)] == [None] * 3
    assert db.predictions.get(other) is not None and db.predictions.answers_for(other) == []
    assert db.queue.status(clicked) is None and db.queue.status(other) is not None
    _, hashes = db.forgetting.tombstones()
    assert hashes == {text_sha256(t) for t in gone.texts}
    assert db.forgetting.forget_person("UBO").predictions == 0


def test_the_author_defaults_to_whoever_asked(db: Database) -> None:
    asked = record(db, "typed by the asker", user="UANA")
    from_a_bot = record(db, "a bot's message", user="UMOD", author="")
    assert db.predictions.get(asked).author == "UANA"
    assert db.predictions.get(from_a_bot).author is None


def test_a_deleted_message_takes_only_its_auto_tag(db: Database) -> None:
    tagged = record(db, SECRET, user="UBO", source="autotag", channel="C2", message_ts="1.1")
    reply = record(db, "a reply shown at 1.1", user="UANA", channel="C2", message_ts="1.1")
    gone = db.forgetting.forget_message("C2", "1.1")
    assert (gone.predictions, gone.texts) == (1, frozenset({SECRET}))
    assert db.predictions.get(tagged) is None and db.predictions.get(reply) is not None


def test_tombstones_are_read_after_an_id_and_pruned_by_age(db: Database) -> None:
    record(db, "first", user="U1")
    db.forgetting.forget_person("U1")
    seen, first = db.forgetting.tombstones()
    record(db, "second", user="U2")
    db.forgetting.forget_person("U2")
    newest, later = db.forgetting.tombstones(seen)
    assert (first, later) == ({text_sha256("first")}, {text_sha256("second")})
    assert db.forgetting.tombstones(newest) == (newest, frozenset())
    assert db.forgetting.prune_tombstones(timedelta(days=1)) == 0
    assert db.forgetting.prune_tombstones(timedelta(days=-1)) == 2


def test_no_byte_of_a_forgotten_text_is_left_in_the_files(db: Database, tmp_path: Path) -> None:
    for n in range(40):  # pages around it, so the text shares them
        record(db, f"filler message number {n} " * 8, user="UKEEP")
    pid = record(db, SECRET * 4, user="UBO")
    db.predictions.record_answer(pid, "ULAB", "negative", role="labeler")
    db.forgetting.forget_person("UBO")
    db.scrub()
    if not db.is_sqlite:
        with db.read() as conn:
            vacuumed = conn.execute(
                sql("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'predictions'")
            ).scalar()
        assert vacuumed is not None
        return
    assert db.path is not None
    files = sorted(db.path.parent.iterdir())
    assert {p.name for p in files} >= {"heed.sqlite3", "heed.sqlite3-wal"}
    assert [p.name for p in files if b"narwhal" in p.read_bytes()] == []
    assert db.forgetting.tombstones()[1]  # the tombstone is a hash, not the text


def test_a_failed_write_keeps_the_texts_out_of_the_error(db: Database) -> None:
    pid = record(db, "first", user="U1")
    with pytest.raises(SQLAlchemyError) as failed, db.write() as conn:
        conn.execute(
            sql("INSERT INTO predictions (id, created, text, label) VALUES (:id, 'x', :t, 'l')"),
            {"id": pid, "t": SECRET},
        )
    assert "narwhal" not in str(failed.value) and "narwhal" not in failure_line(failed.value)
    assert failure_line(failed.value).startswith("IntegrityError: ")
