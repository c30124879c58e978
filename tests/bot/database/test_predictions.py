"""Predictions and the answers people gave: one answer per user, the latest answer wins,
and the labelled rows export as a valid training file."""

from __future__ import annotations

import io

import pytest

from bot.database import Database, PredictionNotFoundError
from tests.bot.database.conftest import predict
from training.data import read_export


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
    first = db.predictions.record_answer(pid, "U2", "negative", user_name="ana")
    assert (first.is_correction, first.replaced) == (False, False)
    assert first.predicted_label == "negative"
    second = db.predictions.record_answer(pid, "U2", "neutral")
    assert (second.chosen_label, second.is_correction, second.replaced) == ("neutral", True, True)
    assert second.user_name == "ana"  # kept when the later answer does not name the user
    answers = db.predictions.answers_for(pid)
    assert [(a.user, a.chosen_label) for a in answers] == [("U2", "neutral")]
    db.predictions.record_answer(pid, "U3", "negative")
    assert [(a.user, a.chosen_label) for a in db.predictions.answers_for(pid)] == [
        ("U2", "neutral"),
        ("U3", "negative"),
    ]
    assert db.predictions.counts() == {
        "answers": 2,
        "corrections": 1,
        "confirmations": 1,
        "labelled_rows": 1,
    }


def test_answers_to_unknown_predictions_or_without_a_label_raise(db: Database) -> None:
    with pytest.raises(PredictionNotFoundError):
        db.predictions.record_answer(42, "U2", "negative")
    pid = predict(db)
    with pytest.raises(ValueError):
        db.predictions.record_answer(pid, "U2", "  ")
    with pytest.raises(ValueError):
        db.predictions.record_answer(pid, "", "negative")
    assert db.predictions.answers_for(pid) == []


def test_labelled_rows_latest_answer_wins(db: Database) -> None:
    confirmed = predict(db, "love it, perfect", "positive")
    corrected = predict(db, "arrived on tuesday", "negative")
    disputed = predict(db, "the box was fine", "positive")
    predict(db, "nobody answered this one", "neutral")
    db.predictions.record_answer(confirmed, "U2", "positive")
    db.predictions.record_answer(corrected, "U2", "neutral")
    db.predictions.record_answer(disputed, "U2", "neutral")
    db.predictions.record_answer(disputed, "U3", "negative")
    assert db.predictions.labelled_rows()[-1] == ("the box was fine", "negative")
    db.predictions.record_answer(disputed, "U2", "neutral")  # U2 answers again: now the latest
    assert db.predictions.labelled_rows() == [
        ("love it, perfect", "positive"),
        ("arrived on tuesday", "neutral"),
        ("the box was fine", "neutral"),
    ]


def test_blank_texts_are_not_labelled_rows(db: Database) -> None:
    db.predictions.record_answer(predict(db, "   ", "neutral"), "U2", "positive")
    assert db.predictions.labelled_rows() == []
    assert db.predictions.counts()["labelled_rows"] == 1  # the answer itself is kept


def test_export_csv_round_trips_through_training_data(db: Database, tmp_path) -> None:
    tricky = 'a "quoted", comma\nand a second line — ünïcode'
    for text, label in [(tricky, "positive"), ("plain", "negative"), ("fine", "neutral")]:
        db.predictions.record_answer(predict(db, text, "neutral"), "U2", label)
    path = tmp_path / "exports" / "corrections.csv"
    assert db.predictions.export_csv(path) == 3
    examples = read_export(path)
    assert [(e.text, e.label) for e in examples] == [
        (tricky, "positive"),
        ("plain", "negative"),
        ("fine", "neutral"),
    ]
    buffer = io.StringIO()
    assert db.predictions.export_csv(buffer) == 3
    assert buffer.getvalue() == path.read_text(encoding="utf-8")
    assert sorted(p.name for p in path.parent.iterdir()) == ["corrections.csv"]  # no temp left


def test_an_empty_export_is_just_the_header(db: Database, tmp_path) -> None:
    buffer = io.StringIO()
    assert db.predictions.export_csv(buffer) == 0
    assert buffer.getvalue() == "text,label\n"
