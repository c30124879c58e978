"""The review channel's post of a flagged message (or, in ``suggest`` mode, an abstention): the
message's link and author, the label and its confidence against the threshold, and the
Confirm / Relabel / Dismiss controls for labelers and admins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.blocks.classify import CAVEAT, not_sure_line
from bot.blocks.common import LABEL_CHARS, Blocks, against_threshold, context, section, who
from bot.blocks.feedback import FEEDBACK_BLOCK_ID, feedback_actions
from bot.slack_api.text import escape_and_shorten
from classifier.types import Prediction

DISMISS_ACTION = "heed_review_dismiss"
QUOTE_CHARS = 600


@dataclass(frozen=True)
class Flagged:
    """What a review post shows: the message (text, author, channel, permalink), the
    prediction and its id (None: not recorded, no controls), the label's threshold, whether
    Heed abstained (below ``abstain_below``) and, in ``suggest`` mode, the emoji ``act`` mode
    would have added (``suggested``; ``would_react`` None: none)."""

    prediction: Prediction
    text: str
    author: str | None
    channel: str
    permalink: str | None
    threshold: float
    prediction_id: int | None = None
    abstain_below: float | None = None
    suggested: bool = False
    would_react: str | None = None


def review_actions(prediction_id: int, predicted: str, labels: Sequence[str]) -> dict:
    """Confirm (the label), Relabel… (the other labels), Dismiss: the feedback controls,
    worded for review, plus a Dismiss button (each carries the prediction id)."""
    actions = feedback_actions(prediction_id, predicted, labels, FEEDBACK_BLOCK_ID)
    confirm, *menu = actions["elements"]
    confirm = {**confirm, "text": {"type": "plain_text", "text": "Confirm"}, "style": "primary"}
    menu = [{**m, "placeholder": {"type": "plain_text", "text": "Relabel…"}} for m in menu]
    dismiss = {
        "type": "button",
        "action_id": DISMISS_ACTION,
        "text": {"type": "plain_text", "text": "Dismiss"},
        "value": str(prediction_id),
    }
    return {**actions, "elements": [confirm, *menu, dismiss]}


def review_post(flagged: Flagged) -> tuple[str, Blocks]:
    """The review post: why it is here, the message, what Heed did or would do, controls."""
    p = flagged.prediction
    label = escape_and_shorten(p.label, LABEL_CHARS)
    if flagged.abstain_below is not None:
        head = not_sure_line(p, flagged.abstain_below)
        fallback = f"Heed is not sure about a message by {who(flagged.author)}"
    else:
        met = against_threshold(p.confidence, flagged.threshold)
        head = f":triangular_flag_on_post: *{label}* · {met}"
        fallback = f"Heed flagged a message by {who(flagged.author)} as {p.label}"
    where = f"<#{flagged.channel}>"
    if flagged.permalink:
        where = f"<{flagged.permalink}|a message> in {where}"
    quote = escape_and_shorten(" ".join(flagged.text.split()), QUOTE_CHARS)
    blocks: Blocks = [
        section(f"{head}\n{who(flagged.author)} in {where}:\n_{quote}_"),
        context(f"Model `{p.model}`", _suggested_line(flagged)),
        context(CAVEAT),
    ]
    if flagged.prediction_id is not None:
        blocks.append(review_actions(flagged.prediction_id, p.label, list(p.scores) or [p.label]))
    return fallback, blocks


def _suggested_line(flagged: Flagged) -> str:
    if not flagged.suggested:
        return ""
    would = f"react :{flagged.would_react}:" if flagged.would_react else "add no reaction"
    return f"Suggest mode: Heed added nothing in the channel; acting, it would {would}."


def dismissed_blocks(blocks: Sequence[dict], user: str) -> Blocks:
    """The review post without its controls, and a line saying who dismissed it."""
    kept = [b for b in blocks if b.get("block_id") != FEEDBACK_BLOCK_ID]
    return [*kept, context(f":wastebasket: Dismissed by <@{user}>: no label recorded.")]
