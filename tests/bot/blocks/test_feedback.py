"""The feedback controls, the note of who answered what, and the labelling queue (plain,
defanged and shortened texts, one controls block per item with its own answers note, within
Slack's limit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot import database
from bot.blocks.classify import Reply, classify_reply
from bot.blocks.feedback import (
    CONFIRM_ACTION,
    CORRECT_ACTION,
    FEEDBACK_BLOCK_ID,
    FEEDBACK_NOTE_BLOCK_ID,
    MAX_OPTIONS,
    QUEUE_SHOWN,
    TEXT_CHARS,
    choice_value,
    controls_id,
    feedback_actions,
    feedback_note,
    is_queue_controls,
    parse_choice,
    queue_message,
    quoted_text,
    recorded_line,
    with_feedback_note,
)
from bot.database import Answer
from bot.database.queue import QueuedItem
from classifier.types import Explanation, Prediction

V1 = "20260101-000000-abcdef"
LABELS = ["negative", "neutral", "positive"]


def explanation() -> Explanation:
    scores = {"negative": 0.05, "neutral": 0.12, "positive": 0.83}
    return Explanation(
        "attention", ["so", "good"], [0.5, 0.5], Prediction("positive", 0.83, scores, V1)
    )


def answer(user: str, label: str, correction: bool, role: str = "labeler") -> Answer:
    return Answer(1, user, None, datetime.now(UTC), label, "positive", correction, role)


def test_feedback_controls_carry_the_prediction_id() -> None:
    confirm, select = feedback_actions(42, "positive", LABELS)["elements"]
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
    _, select = feedback_actions(7, "label_000", labels)["elements"]
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
    assert [e["type"] for e in feedback_actions(1, "only", ["only"])["elements"]] == ["button"]


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


def test_an_untrusted_answer_is_shown_as_a_suggestion() -> None:
    for role in ("asker", "author", "unverified"):
        line = recorded_line(answer("U1", "neutral", True, role))
        assert line == "Suggested: neutral by <@U1> (correction; a labeler decides)"


NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def item(pid: int, text: str = "hello", source: str = "autotag", channel: str = "C1") -> QueuedItem:
    prediction = database.Prediction(
        pid,
        NOW,
        channel,
        "U1",
        text,
        "spam",
        0.51,
        {"spam": 0.51, "ok": 0.49},
        "v",
        None,
        "1.1",
        source,
    )
    return QueuedItem(prediction, 0.98)


def test_items_are_plain_defanged_shortened_and_carry_their_own_controls() -> None:
    text, blocks = queue_message("support", [item(3, "<!here> " + "x" * 400), item(4)])
    assert "`support`" in text and "2 recent messages" in text
    sections = [b["text"] for b in blocks if b["type"] == "section"][1:]
    assert sections[0]["type"] == "plain_text" and sections[0]["emoji"] is False
    assert sections[0]["text"].startswith("1. <!here> x")
    assert len(sections[0]["text"]) <= TEXT_CHARS + 3
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [a["block_id"] for a in actions] == [controls_id(3), controls_id(4)]
    assert actions[0]["elements"][0] == {
        "type": "button",
        "action_id": CONFIRM_ACTION,
        "text": {"type": "plain_text", "text": "✓ Correct", "emoji": True},
        "value": "3",
    }
    body = json.dumps(blocks)
    assert "auto-tagged message by <@U1> in <#C1>" in body and "uncertainty 0.98" in body
    asked = json.dumps(queue_message("t", [item(5, source="classify", channel="D1")])[1])
    assert "`/classify` by <@U1>" in asked and "<#D1>" not in asked


def test_the_list_fits_slack_and_an_empty_queue_says_so() -> None:
    _, blocks = queue_message("t", [item(i) for i in range(QUEUE_SHOWN)], note="Recorded")
    assert len(blocks) <= 50 and blocks[0]["elements"][0]["text"] == "Recorded"
    text, blocks = queue_message("t", [], digest=True)
    assert "is empty" in text and len(blocks) == 1


def test_controls_ids_and_a_note_above_the_clicked_item_only() -> None:
    assert is_queue_controls(controls_id(12)) and not is_queue_controls("heed_queue_head")
    assert not is_queue_controls("heed_feedback") and not is_queue_controls(None)
    _, blocks = queue_message("t", [item(1), item(2)])
    answer = Answer(2, "U3", None, NOW, "ok", "spam", True, "labeler")
    noted = with_feedback_note(blocks, [answer], controls_id(2))
    ids = [b.get("block_id") for b in noted]
    assert ids.index(f"{controls_id(2)}_note") == ids.index(controls_id(2)) - 1
    assert f"{controls_id(1)}_note" not in ids
    again = with_feedback_note(noted, [answer, answer], controls_id(2))
    assert [b.get("block_id") for b in again].count(f"{controls_id(2)}_note") == 1


def test_links_in_a_queued_text_are_defanged() -> None:
    phish = "urgent: log in at https://evil.example/login or mail ceo@evil.example"
    section = quoted_text(2, phish)
    assert section["text"]["text"] == (
        "2. urgent: log in at hxxps[://]evil[.]example/login or mail ceo@evil[.]example"
    )
