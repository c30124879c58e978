"""Predictions and the answers people gave: one answer per user with the role it was given
in, trusted answers outrank the asker's, conflicting trusted answers are held, and the labelled
rows export as a valid training file."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bot.database import Database, PredictionNotFoundError
from bot.database.labels import resolve
from tests.bot.database.conftest import predict


def test_record_and_read_prediction(db: Database) -> None:
    pid = predict(db)
    got = db.predictions.get(pid)
    assert got is not None and got.id == pid and got.created is not None
    assert (got.text, got.label, got.confidence) == ("the cable arrived broken", "negative", 0.8)
    assert got.scores == {"negative": 0.8, "neutral": 0.15, "positive": 0.05}
    assert (got.model_version, got.method, got.channel, got.user) == (
        "20261126-191500-a1b2c3",
        "attention",
        "C1",
        "U1",
    )
    assert got.message_ts is None
    db.predictions.set_message(pid, channel="C1", message_ts="1700000000.000100")
    assert db.predictions.get(pid).message_ts == "1700000000.000100"
    db.predictions.set_message(pid, channel=None, message_ts="1700000000.000200")
    assert db.predictions.get(pid).channel == "C1"  # kept when not given
    assert db.predictions.get(pid + 100) is None
    with pytest.raises(PredictionNotFoundError):
        db.predictions.set_message(pid + 100, channel="C1", message_ts="1.1")
    with pytest.raises(ValueError):
        db.predictions.record(text="x", label="")


def test_an_answer_replaces_the_same_users_earlier_one(db: Database) -> None:
    pid = predict(db)
    first = db.predictions.record_answer(pid, "U2", "negative", role="labeler", user_name="ana")
    assert (first.is_correction, first.replaced) == (False, False)
    assert first.predicted_label == "negative"
    second = db.predictions.record_answer(pid, "U2", "neutral", role="labeler")
    assert (second.chosen_label, second.is_correction, second.replaced) == ("neutral", True, True)
    assert second.user_name == "ana"  # kept when the later answer does not name the user
    answers = db.predictions.answers_for(pid)
    assert [(a.user, a.chosen_label) for a in answers] == [("U2", "neutral")]
    db.predictions.record_answer(pid, "U1", "negative", role="asker")
    assert [(a.user, a.chosen_label, a.role) for a in db.predictions.answers_for(pid)] == [
        ("U2", "neutral", "labeler"),
        ("U1", "negative", "asker"),
    ]
    assert db.predictions.counts() == {
        "answers": 2,
        "corrections": 1,
        "confirmations": 1,
        "labelled_rows": 1,
        "held": 0,
    }


def test_an_askers_answer_alone_is_no_labelled_row(db: Database) -> None:
    pid = predict(db)
    db.predictions.record_answer(pid, "U1", "neutral", role="asker")
    db.predictions.record_answer(pid, "U9", "positive", role="author")
    assert db.predictions.labelled_rows() == []
    assert db.predictions.counts()["labelled_rows"] == 0
    db.predictions.record_answer(pid, "U2", "positive", role="labeler")
    assert db.predictions.labelled_rows() == [("the cable arrived broken", "positive")]


def test_answers_to_unknown_predictions_or_without_a_label_raise(db: Database) -> None:
    with pytest.raises(PredictionNotFoundError):
        db.predictions.record_answer(42, "U2", "negative", role="labeler")
    pid = predict(db)
    with pytest.raises(ValueError):
        db.predictions.record_answer(pid, "U2", "  ", role="labeler")
    with pytest.raises(ValueError):
        db.predictions.record_answer(pid, "", "negative", role="labeler")
    with pytest.raises(ValueError, match="unknown answer role"):
        db.predictions.record_answer(pid, "U2", "negative", role="troll")
    assert db.predictions.answers_for(pid) == []


def test_only_trusted_answers_decide_and_conflicts_are_held(db: Database) -> None:
    suggested = predict(db, "love it, perfect", "positive")
    confirmed = predict(db, "love it, really", "positive")
    outranked = predict(db, "arrived on tuesday", "negative")
    disputed = predict(db, "the box was fine", "positive")
    legacy = predict(db, "an answer from before roles", "positive")
    predict(db, "nobody answered this one", "neutral")
    db.predictions.record_answer(suggested, "U1", "positive", role="asker")  # a suggestion
    db.predictions.record_answer(confirmed, "U1", "negative", role="asker")
    db.predictions.record_answer(confirmed, "U4", "positive", role="labeler")
    db.predictions.record_answer(outranked, "U1", "positive", role="asker")
    db.predictions.record_answer(outranked, "U2", "neutral", role="labeler")
    db.predictions.record_answer(outranked, "U1", "negative", role="asker")  # still outranked
    db.predictions.record_answer(disputed, "U2", "neutral", role="labeler")
    db.predictions.record_answer(disputed, "U3", "negative", role="admin")
    db.predictions.record_answer(legacy, "U9", "negative", role="unverified")
    assert db.predictions.labelled_rows() == [
        ("love it, really", "positive"),
        ("arrived on tuesday", "neutral"),
    ]
    held = resolve(db.predictions.answers_for(disputed))
    assert held.held and held.users == ("U2", "U3")
    assert db.predictions.counts()["held"] == 1
    db.predictions.record_answer(disputed, "U2", "negative", role="labeler")  # settled
    assert db.predictions.labelled_rows()[-1] == ("the box was fine", "negative")
    assert db.predictions.counts()["held"] == 0
    rows = db.predictions.labelled()
    assert [(r.prediction_id, r.users) for r in rows] == [
        (confirmed, ("U4",)),
        (outranked, ("U2",)),
        (disputed, ("U3", "U2")),
    ]
    assert rows[0].answered < rows[1].answered < rows[2].answered  # each newest answer's time


def test_blank_texts_are_not_labelled_rows(db: Database) -> None:
    db.predictions.record_answer(predict(db, "   ", "neutral"), "U2", "positive", role="labeler")
    assert db.predictions.labelled_rows() == []
    assert db.predictions.counts()["labelled_rows"] == 0
    assert db.predictions.counts()["answers"] == 1  # the answer itself is kept


def test_counts_by_the_database_agree_with_the_rows_per_task(db: Database) -> None:
    """The SQL counts resolve answers exactly like :func:`resolve` on the rows, per task."""
    rng = random.Random(5)
    texts = ["fine", "  ", "\u3000\n", "broken box"]
    roles = ["admin", "labeler", "asker", "author", "unverified"]
    tasks: dict[str | None, list[int]] = {"default": [], "support": [], None: []}
    for n in range(40):
        task = ("default", "support")[n % 2]
        pid = db.predictions.record(text=rng.choice(texts), label="neutral", task=task)
        tasks[task].append(pid)
        tasks[None].append(pid)
        for user in rng.sample(["U1", "U2", "U3", "U4"], rng.randint(0, 4)):
            label = rng.choice(["neutral", "negative", "positive"])
            db.predictions.record_answer(pid, user, label, role=rng.choice(roles))
    for task, pids in tasks.items():
        answered = [db.predictions.answers_for(pid) for pid in pids]
        answers = [a for group in answered for a in group]
        corrections = sum(a.is_correction for a in answers)
        assert db.predictions.counts(task) == {
            "answers": len(answers),
            "corrections": corrections,
            "confirmations": len(answers) - corrections,
            "labelled_rows": len(db.predictions.labelled(task)),
            "held": sum(resolve(group).held for group in answered),
        }
    assert db.predictions.counts("nobody") == dict.fromkeys(
        ("answers", "corrections", "confirmations", "labelled_rows", "held"), 0
    )


def test_stored_texts_drop_c0_controls_but_tabs_and_newlines(db: Database) -> None:
    hostile = "ok\x00\x1b[2J\x1b]0;pwned\x07 done\bX\tcol\r\nline\rnext\x7f"
    pid = db.predictions.record(text=hostile, label="neutral", scores={"neutral": 1.0})
    assert db.predictions.get(pid).text == "ok[2J]0;pwned doneX\tcol\nline\nnext\x7f"


def test_fresh_counts_by_the_database_agree_with_the_rows(db: Database) -> None:
    """What the retrain preview shows as new since the serving model, counted in SQL exactly as
    :meth:`labelled` decides the rows (by label, and by the users who decided them)."""
    rng = random.Random(7)
    roles = ["admin", "labeler", "asker", "unverified"]
    for n in range(30):
        task = ("default", "support")[n % 2]
        pid = db.predictions.record(text=rng.choice(["ok", " ", "bad"]), label="neutral", task=task)
        for user in rng.sample(["U1", "U2", "U3", "U4"], rng.randint(0, 4)):
            label = rng.choice(["neutral", "negative", "positive"])
            db.predictions.record_answer(pid, user, label, role=rng.choice(roles))
    rows = db.predictions.labelled("default")
    middle = sorted(r.answered for r in rows)[len(rows) // 2]
    for since in (None, middle, "2999-01-01"):
        fresh = [r for r in rows if since is None or r.answered > since]
        labels = Counter(r.label for r in fresh)
        users = Counter(user for r in fresh for user in r.users)
        assert db.predictions.answered_since("default", since) == (dict(labels), dict(users))
