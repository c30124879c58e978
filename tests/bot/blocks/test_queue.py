"""The labelling queue's wording: escaped and shortened texts, one controls block per item
with its own id (and its own answers note), within Slack's block limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks.feedback import CONFIRM_ACTION, with_feedback_note
from bot.blocks.queue import (
    QUEUE_SHOWN,
    TEXT_CHARS,
    controls_id,
    is_queue_controls,
    queue_message,
)
from bot.database import Answer, Prediction
from bot.database.queue import QueuedItem

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def item(pid: int, text: str = "hello", source: str = "autotag", channel: str = "C1") -> QueuedItem:
    prediction = Prediction(
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


def test_items_are_escaped_shortened_and_carry_their_own_controls() -> None:
    text, blocks = queue_message("support", [item(3, "<!here> " + "x" * 400), item(4)])
    assert "`support`" in text and "2 recent messages" in text
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]
    assert sections[0].startswith("*1.* &lt;!here&gt; x") and len(sections[0]) <= TEXT_CHARS + 6
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
