"""Block Kit builders, /classify argument parsing and Slack text conversion."""

from __future__ import annotations

import json

import pytest

from bot import blocks
from bot.listeners.commands import ClassifyArgs, parse_classify
from bot.text import escape_mrkdwn, shorten, slack_to_plain
from classifier.types import Explanation, Prediction

SCORES = {"negative": 0.05, "neutral": 0.12, "positive": 0.83}


def explanation(truncated: bool = False, scores: dict[str, float] = SCORES) -> Explanation:
    label = max(scores, key=scores.__getitem__)
    prediction = Prediction(label, scores[label], scores, "20260101-000000-abcdef", truncated)
    return Explanation("rollout", ["so", "good"], [0.3, 0.7], prediction, truncated=truncated)


def test_bar_and_percent() -> None:
    assert blocks.bar(0.0) == "░" * 10 and blocks.bar(1.0) == "█" * 10
    assert blocks.bar(0.83) == "████████░░" and blocks.percent(0.8734) == "87.3%"


def test_score_lines_sorted_by_confidence() -> None:
    lines = blocks.score_lines(SCORES)
    assert [line.split()[-1] for line in lines] == ["positive", "neutral", "negative"]
    assert "83.0%" in lines[0] and lines[0].startswith("`████████░░`")


def test_classify_reply_has_label_scores_method_version() -> None:
    text, reply = blocks.classify_reply(explanation(), text="so <b>good</b>", user_id="U1")
    assert (
        text == "positive (83.0% confidence, explained with rollout) · model 20260101-000000-abcdef"
    )
    body = json.dumps(reply)
    assert "*positive*" in body and "<@U1> asked" in body and "&lt;b&gt;good" in body
    assert all(label in body for label in SCORES) and "rollout" in body
    assert "20260101-000000-abcdef" in body and "limit" not in body
    assert all(b["type"] in {"section", "context"} for b in reply)
    assert all(len(b["text"]["text"]) <= 3000 for b in reply if b["type"] == "section")


def test_truncation_note_note_and_feedback_slot() -> None:
    button = {
        "type": "button",
        "action_id": "confirm",
        "text": {"type": "plain_text", "text": "ok"},
    }
    _, reply = blocks.classify_reply(
        explanation(truncated=True),
        text="x",
        max_tokens=512,
        note=blocks.NOT_IN_CHANNEL_NOTE,
        feedback=[button],
    )
    body = json.dumps(reply)
    assert "limit of 512 tokens" in body and "invite Heed" in body
    assert reply[-1] == {
        "type": "actions",
        "block_id": blocks.FEEDBACK_BLOCK_ID,
        "elements": [button],
    }


def test_many_classes_are_split_into_sections_under_the_limit() -> None:
    scores = {f"intent_{i:02d}_" + "x" * 50: 1 / 77 for i in range(77)}
    _, reply = blocks.classify_reply(explanation(scores=scores), text="hi")
    sections = [b for b in reply if b["type"] == "section"][1:]
    assert len(sections) >= 2 and all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert sum(s["text"]["text"].count("\n") + 1 for s in sections) == 77


def test_usage_and_notes() -> None:
    text, help_blocks = blocks.usage("--explain needs a method")
    assert text.startswith(":warning: --explain needs a method\nUsage: `/classify")
    assert help_blocks[0]["text"]["text"] == text
    p = explanation().prediction
    assert "*positive*" in blocks.autotag_note(p) and "83.0%" in blocks.autotag_note(p)
    assert "couldn't upload the heatmap: HTTP 500" in blocks.upload_failed_note("HTTP 500")
    assert "/invite @Heed" in blocks.upload_failed_note("not_in_channel")
    assert "ref `abcd`" in blocks.apology("abcd")
    assert "rollout" in blocks.heatmap_title(explanation())


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("great stuff", ClassifyArgs("great stuff", "attention")),
        ("  --explain rollout  great  stuff ", ClassifyArgs("great  stuff", "rollout")),
        ("-e GRADIENT great", ClassifyArgs("great", "gradient")),
        ("--explain=rollout great", ClassifyArgs("great", "rollout")),
        ("-e rollout --explain gradient x", ClassifyArgs("x", "gradient")),
        ("-- --explain is text", ClassifyArgs("--explain is text", "attention")),
        ("-excellent product", ClassifyArgs("-excellent product", "attention")),
        ("a &lt;b&gt; &amp; <https://x.io|link>", ClassifyArgs("a <b> & link", "attention")),
        ("", ClassifyArgs(help=True)),
        ("   ", ClassifyArgs(help=True)),
        ("help", ClassifyArgs(help=True)),
        ("--help", ClassifyArgs(help=True)),
        ("--explain rollout", ClassifyArgs(help=True, method="rollout")),
        ("--explain", ClassifyArgs(help=True, error="--explain needs a method")),
    ],
)
def test_parse_classify(raw: str, expected: ClassifyArgs) -> None:
    assert parse_classify(raw) == expected


def test_parse_classify_unknown_method_and_default() -> None:
    args = parse_classify("--explain shap text")
    assert args.help and "unknown explanation method 'shap'" in (args.error or "")
    assert parse_classify("text", default_method="gradient").method == "gradient"


def test_slack_text_helpers() -> None:
    assert slack_to_plain("hi <@U123> in <#C1|general> see <http://a.b> &amp; <!here>") == (
        "hi @U123 in #general see http://a.b & @here"
    )
    assert escape_mrkdwn("a<b>&c") == "a&lt;b&gt;&amp;c"
    assert shorten("abcdef", 4) == "abc…" and shorten("abc", 4) == "abc"
