"""The review post: why it is there, the message, what acting would do, the controls."""

from __future__ import annotations

import json

from bot.blocks.feedback import CONFIRM_ACTION, CORRECT_ACTION, FEEDBACK_BLOCK_ID
from bot.blocks.review import DISMISS_ACTION, Flagged, dismissed_blocks, review_post
from classifier.types import Prediction

SCORES = {"harassment": 0.83, "ok": 0.1, "spam": 0.07}
SAID = Prediction("harassment", 0.83, SCORES, "v1")


def flagged(**kw: object) -> Flagged:
    values: dict = {
        "prediction": SAID,
        "text": "you <b>are</b>\n awful",
        "author": "U9",
        "channel": "C1",
        "permalink": "https://x.slack.com/archives/C1/p1",
        "threshold": 0.6,
        "prediction_id": 7,
    }
    return Flagged(**(values | kw))


def test_a_flagged_message_with_its_threshold_link_author_and_controls() -> None:
    text, blocks = review_post(flagged())
    assert text == "Heed flagged a message by <@U9> as harassment"
    head = blocks[0]["text"]["text"]
    assert head.startswith(":triangular_flag_on_post: *harassment* · confidence 0.83 ≥ ")
    assert "<@U9> in <https://x.slack.com/archives/C1/p1|a message> in <#C1>" in head
    assert "_you &lt;b&gt;are&lt;/b&gt; awful_" in head
    [controls] = [b for b in blocks if b.get("block_id") == FEEDBACK_BLOCK_ID]
    confirm, relabel, dismiss = controls["elements"]
    assert (confirm["action_id"], confirm["text"]["text"], confirm["value"]) == (
        CONFIRM_ACTION,
        "Confirm",
        "7",
    )
    assert relabel["action_id"] == CORRECT_ACTION and relabel["placeholder"]["text"] == "Relabel…"
    assert [o["text"]["text"] for o in relabel["options"]] == ["ok", "spam"]
    assert (dismiss["action_id"], dismiss["value"]) == (DISMISS_ACTION, "7")
    assert "Suggest mode" not in json.dumps(blocks)


def test_an_abstention_in_suggest_mode_says_not_sure_and_what_acting_would_do() -> None:
    text, blocks = review_post(
        flagged(abstain_below=0.9, suggested=True, would_react="thinking_face", permalink=None)
    )
    assert text == "Heed is not sure about a message by <@U9>"
    body = json.dumps(blocks, ensure_ascii=False)
    assert "*Not sure*" in body and "*harassment* 83.0% · *ok* 10.0%" in body
    assert "<@U9> in <#C1>" in body  # no permalink: the channel alone
    assert "acting, it would react :thinking_face:" in body


def test_unrecorded_no_controls_and_dismissed_drops_them() -> None:
    _, blocks = review_post(flagged(prediction_id=None))
    assert all(b["type"] != "actions" for b in blocks)
    _, blocks = review_post(flagged())
    after = dismissed_blocks(blocks, "UADMIN")
    assert all(b.get("block_id") != FEEDBACK_BLOCK_ID for b in after)
    assert "Dismissed by <@UADMIN>" in after[-1]["elements"][0]["text"]
