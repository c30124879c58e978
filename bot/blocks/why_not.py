"""The "Why not …?" menu under a ``/classify`` reply and its private answer: the contrastive
explanation of why Heed said one label and not another."""

from __future__ import annotations

from collections.abc import Mapping

from bot.blocks.common import Blocks, context, section
from bot.blocks.feedback import MAX_OPTIONS, OPTION_TEXT_CHARS, choice_value
from bot.slack_api.text import escape_and_shorten, shorten
from classifier.types import Explanation

WHY_NOT_ACTION = "heed_why_not"
WHY_NOT_BLOCK_ID = "heed_why_not"
WORDS_SHOWN = 5
CANNOT_EXPLAIN = ":warning: Heed can't explain that message here."


def why_not_actions(prediction_id: int, predicted: str, scores: Mapping[str, float]) -> dict:
    """A menu of the other labels, the runner-up first (then by score)."""
    labels = list(scores)
    others = sorted(
        ((label, i) for i, label in enumerate(labels) if label != predicted),
        key=lambda item: (-scores[item[0]], item[0]),
    )[:MAX_OPTIONS]
    options = [
        {
            "text": {"type": "plain_text", "text": shorten(f"Why not {label}?", OPTION_TEXT_CHARS)},
            "value": choice_value(prediction_id, label, i),
        }
        for label, i in others
    ]
    select = {
        "type": "static_select",
        "action_id": WHY_NOT_ACTION,
        "placeholder": {"type": "plain_text", "text": "Why not…?"},
        "options": options,
    }
    return {"type": "actions", "block_id": WHY_NOT_BLOCK_ID, "elements": [select]}


def _words(explanation: Explanation, toward_prediction: bool) -> str:
    signed = explanation.signed_weights
    pairs = [(w, s) for w, s in zip(explanation.words, signed, strict=True)]
    chosen = [p for p in pairs if (p[1] > 0) == toward_prediction and p[1] != 0]
    chosen.sort(key=lambda p: -abs(p[1]))
    return ", ".join(escape_and_shorten(w, 40) for w, _ in chosen[:WORDS_SHOWN]) or "none"


def why_not_answer(explanation: Explanation, dm_heatmap: bool) -> tuple[str, Blocks]:
    """What the person who asked "why not B?" reads (privately)."""
    p = explanation.prediction
    label = escape_and_shorten(p.label, 60)
    versus = escape_and_shorten(explanation.versus or "", 60)
    text = f"Why {p.label}, not {explanation.versus}"
    lines = [
        f":mag: *Why {label}, not {versus}?*",
        f"• toward *{label}*: {_words(explanation, True)}",
        f"• toward *{versus}*: {_words(explanation, False)}",
    ]
    notes = [f"The margin between the two labels, explained with {explanation.method}."]
    if dm_heatmap:
        notes.append("The heatmap is in your DM with Heed.")
    return text, [section("\n".join(lines)), context(" ".join(notes))]
