"""The /classify surface: the reply, its usage help, the auto-tag note, heatmap captions."""

from __future__ import annotations

import json

from bot.blocks.classify import (
    CAVEAT,
    DM_HEATMAP_NOTE,
    NO_TEXT_NOTE,
    NOT_IN_CHANNEL_NOTE,
    Reply,
    autotag_blocks,
    classify_reply,
    heatmap_comment,
    heatmap_title,
    score_lines,
    truncation_note,
    unavailable_method_note,
    unknown_method_error,
    usage_text,
)
from bot.blocks.feedback import FEEDBACK_BLOCK_ID
from classifier.types import Explanation, Prediction

SCORES = {"negative": 0.05, "neutral": 0.12, "positive": 0.83}


def explanation(truncated: bool = False, scores: dict[str, float] = SCORES) -> Explanation:
    label = max(scores, key=scores.__getitem__)
    prediction = Prediction(label, scores[label], scores, "20260101-000000-abcdef", truncated)
    return Explanation("rollout", ["so", "good"], [0.3, 0.7], prediction, truncated=truncated)


def test_score_lines_sorted_by_confidence() -> None:
    lines = score_lines(SCORES)
    assert [line.split()[-1] for line in lines] == ["positive", "neutral", "negative"]
    assert "83.0%" in lines[0] and lines[0].startswith("`████████░░`")


def test_classify_reply_has_label_scores_method_version() -> None:
    text, reply = classify_reply(Reply(explanation(), "so <b>good</b>", user_id="U1"))
    assert (
        text == "positive (83.0% confidence, explained with rollout) · model 20260101-000000-abcdef"
    )
    body = json.dumps(reply)
    assert "*positive*" in body and "<@U1> asked" in body and "&lt;b&gt;good" in body
    assert all(label in body for label in SCORES) and "rollout" in body
    assert "20260101-000000-abcdef" in body and "limit" not in body
    assert all(b["type"] in {"section", "context"} for b in reply)
    assert all(len(b["text"]["text"]) <= 3000 for b in reply if b["type"] == "section")
    assert reply[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": CAVEAT}]}


def test_the_caveat_is_one_line_under_each_explanation() -> None:
    assert "\n" not in CAVEAT and "hint" in CAVEAT and "not proof" in CAVEAT
    _, reply = classify_reply(Reply(explanation(), "x", prediction_id=1), DM_HEATMAP_NOTE)
    kinds = [b["type"] for b in reply]
    caveat = kinds.index("context", kinds.index("context") + 1)
    assert reply[caveat]["elements"][0]["text"] == CAVEAT
    assert kinds[-1] == "actions"  # the feedback controls stay last
    note, blocks = autotag_blocks(explanation().prediction)
    assert note.startswith("Heed tagged this *positive* (83.0% confidence, model `")
    assert blocks[0]["text"]["text"] == note and blocks[-1]["elements"][0]["text"] == CAVEAT
    note, _ = autotag_blocks(explanation().prediction, threshold=0.6)
    assert "; confidence 0.83 ≥ threshold 0.60)" in note


def test_a_reply_below_abstain_below_says_not_sure_first() -> None:
    text, blocks = classify_reply(Reply(explanation(), "x", abstain_below=0.9))
    head = blocks[0]["text"]["text"]
    assert head.startswith(":grey_question: *Not sure* (top 83.0%, below 90.0%): *positive*")
    assert text.startswith("Not sure: positive (83.0% confidence")


def test_truncation_note_note_and_feedback_slot() -> None:
    _, reply = classify_reply(
        Reply(explanation(truncated=True), "x", max_tokens=512, prediction_id=7),
        NOT_IN_CHANNEL_NOTE,
    )
    body = json.dumps(reply)
    assert "limit of 512 tokens" in body and "invite Heed" in body
    assert reply[-1]["type"] == "actions" and reply[-1]["block_id"] == FEEDBACK_BLOCK_ID
    assert reply[-1]["elements"][0]["value"] == "7"  # the recorded prediction's controls
    assert "limit of" not in truncation_note(None) and "beginning only" in truncation_note(None)


def test_many_classes_are_split_into_sections_under_the_limit() -> None:
    scores = {f"intent_{i:02d}_" + "x" * 50: 1 / 77 for i in range(77)}
    _, reply = classify_reply(Reply(explanation(scores=scores), "hi"))
    sections = [b for b in reply if b["type"] == "section"][1:]
    assert len(sections) >= 2 and all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert sum(s["text"]["text"].count("\n") + 1 for s in sections) == 77


def test_usage_and_notes() -> None:
    text = usage_text(error="--explain needs a method")
    assert text.startswith(":warning: --explain needs a method\nUsage: `/classify")
    text = usage_text()
    assert text == usage_text("attn-grad-mix")
    assert "Without it: `attn-grad-mix`, the default here." in text and "slower" not in text
    assert "hint" in text and "not proof" in text
    assert "Without it: `rollout`, the default here." in usage_text("rollout")
    assert "unavailable" not in NO_TEXT_NOTE and "no text" in NO_TEXT_NOTE
    assert unavailable_method_note("the rollout explanation needs <x>").endswith("&lt;x&gt;.")
    p = explanation().prediction
    assert "rollout" in heatmap_title(explanation())
    assert "*positive*" in heatmap_comment(explanation())
    signed = Explanation("attn-grad", ["so", "good"], [0, 1], p, signed_weights=[-0.2, 0.8])
    assert "Orange words pushed toward *positive*, purple" in heatmap_comment(signed)
    assert "Orange" not in heatmap_comment(explanation())
    assert "DM" in DM_HEATMAP_NOTE
    assert "unknown explanation method 'shap': use attention" in unknown_method_error("shap")


def test_a_text_of_ampersands_stays_within_slacks_limit_once_escaped() -> None:
    _, reply = classify_reply(Reply(explanation(), "&" * 4000, user_id="U1"))
    first = reply[0]["text"]["text"]
    assert len(first) <= 3000 and "&amp;" in first and "&&" not in first
    assert all(len(b["text"]["text"]) <= 3000 for b in reply if b["type"] == "section")
