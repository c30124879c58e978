"""The feedback controls under a /classify reply and the note of who answered what."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.blocks.classify import Reply, classify_reply
from bot.blocks.feedback import (
    CONFIRM_ACTION,
    CORRECT_ACTION,
    FEEDBACK_BLOCK_ID,
    FEEDBACK_NOTE_BLOCK_ID,
    MAX_OPTIONS,
    choice_value,
    feedback_elements,
    feedback_note,
    parse_choice,
    recorded_line,
    with_feedback_note,
)
from bot.database import Answer
from classifier.types import Explanation, Prediction

V1 = "20260101-000000-abcdef"
LABELS = ["negative", "neutral", "positive"]


def explanation() -> Explanation:
    scores = {"negative": 0.05, "neutral": 0.12, "positive": 0.83}
    return Explanation(
        "attention", ["so", "good"], [0.5, 0.5], Prediction("positive", 0.83, scores, V1)
    )


def answer(user: str, label: str, correction: bool) -> Answer:
    return Answer(1, user, None, datetime.now(UTC), label, "positive", correction)


def test_feedback_controls_carry_the_prediction_id() -> None:
    confirm, select = feedback_elements(42, "positive", LABELS)
    assert confirm["type"] == "button" and confirm["value"] == "42"
    assert confirm["action_id"] == CONFIRM_ACTION and "Correct" in confirm["text"]["text"]
    assert select["type"] == "static_select" and select["action_id"] == CORRECT_ACTION
    assert select["placeholder"]["text"] == "Actually it's…"
    options = [(o["text"]["text"], o["value"]) for o in select["options"]]
    assert options == [("negative", "42:negative"), ("neutral", "42:neutral")]


def test_choice_values_round_trip() -> None:
    assert parse_choice("42") == (42, "")
    assert parse_choice("42:neutral") == (42, "neutral")
    assert parse_choice("42:a:b") == (42, "a:b")
    assert parse_choice("7#2") == (7, 2)
    assert choice_value(7, "neutral", 1) == "7:neutral"
    assert choice_value(7, "x" * 200, 3) == "7#3"
    for forged in ("forged", "x:neutral", "7#x", ""):
        with pytest.raises(ValueError):
            parse_choice(forged)


def test_feedback_controls_fit_slacks_limits() -> None:
    long_label = "refund_" + "x" * 200
    labels = [long_label, *(f"label_{i:03d}" for i in range(150))]
    _, select = feedback_elements(7, "label_000", labels)
    assert "options" not in select and len(select["option_groups"]) == 2
    groups = select["option_groups"]
    assert [len(g["options"]) for g in groups] == [MAX_OPTIONS, 50]
    assert all(len(g["label"]["text"]) <= 75 for g in groups)
    options = [o for g in groups for o in g["options"]]
    assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)
    assert "label_000" not in {o["text"]["text"] for o in options}  # that is "Correct"
    [long] = [o for o in options if o["text"]["text"].startswith("refund_")]
    assert long["value"] == "7#0" and parse_choice(long["value"]) == (7, 0)
    # a one-label model has nothing to pick from: only the button
    assert [e["type"] for e in feedback_elements(1, "only", ["only"])] == ["button"]


def test_the_feedback_note_goes_above_the_controls_and_is_replaced() -> None:
    reply_to = Reply(explanation(), "so good", prediction_id=1)
    _, reply = classify_reply(reply_to)
    once = with_feedback_note(reply, [answer("U1", "positive", False)])
    assert once[-1]["block_id"] == FEEDBACK_BLOCK_ID
    assert once[-2]["block_id"] == FEEDBACK_NOTE_BLOCK_ID
    assert "Recorded: positive by <@U1> (confirmed)" in json.dumps(once)
    twice = with_feedback_note(
        once, [answer("U1", "positive", False), answer("U2", "negative", True)]
    )
    notes = [b for b in twice if b.get("block_id") == FEEDBACK_NOTE_BLOCK_ID]
    assert len(notes) == 1 and len(twice) == len(once)
    text = notes[0]["elements"][0]["text"]
    assert "Recorded: negative by <@U2> (correction)" in text and "<@U1>" in text
    many = [answer(f"U{i}", "neutral", True) for i in range(15)]
    text = feedback_note(many)["elements"][0]["text"]
    assert text.startswith("… and 5 earlier answers") and "<@U14>" in text and "<@U4>" not in text
    assert with_feedback_note(once, []) == reply  # no answers: no note


def test_recorded_line_escapes_the_label() -> None:
    line = recorded_line(answer("U1", "<b>&", True))
    assert line == "Recorded: &lt;b&gt;&amp; by <@U1> (correction)"
