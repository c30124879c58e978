"""Appeals of an auto-tag's label: the thread note's control, the reason modal, and what the
author is told (filed, refused, decided)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.common import LABEL_CHARS
from bot.database.appeals import REASON_CHARS, UPHELD
from bot.slack_api.text import escape_and_shorten

if TYPE_CHECKING:
    from bot.database import Prediction
    from bot.database.appeals import Appeal

APPEAL_ACTION = "heed_appeal"  # the thread note's button (value: the prediction id)
APPEAL_BLOCK_ID = "heed_appeal_controls"
APPEAL_VIEW = "heed_appeal_view"  # the modal's callback_id (private_metadata: prediction id)
REASON_BLOCK, REASON_INPUT = "heed_appeal_reason", "reason"
APPEAL_AUDIT = "appeal"  # the audit log's actions: filing, deciding, telling the author
DECISION_AUDIT = "appeal_decision"
NOTICE_AUDIT = "appeal_notice"


def appeal_control(prediction_id: int) -> dict:
    """The thread note's "Appeal Heed's label" button (only the message's author may use it)."""
    return {
        "type": "actions",
        "block_id": APPEAL_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": APPEAL_ACTION,
                "text": {"type": "plain_text", "text": "Appeal Heed's label"},
                "value": str(prediction_id),
            }
        ],
    }


def appeal_modal(prediction: Prediction) -> dict:
    """The modal asking for an optional reason; submitting it files the appeal."""
    label = escape_and_shorten(prediction.label, LABEL_CHARS)
    return {
        "type": "modal",
        "callback_id": APPEAL_VIEW,
        "private_metadata": str(prediction.id),
        "title": {"type": "plain_text", "text": "Appeal Heed's label"},
        "submit": {"type": "plain_text", "text": "Appeal"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"Heed labelled your message *{label}*. Heed's labelers will "
                    "review it and you will hear what they decide.",
                },
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Why is the label wrong? (optional)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": REASON_CHARS,
                },
            },
        ],
    }


NOT_YOURS = (
    ":no_entry: Only the author of a message Heed auto-tagged can appeal its label, so nothing "
    "was recorded."
)
ALREADY_APPEALED = (
    ":hourglass: This label is already under appeal: you will hear what the labelers decide."
)


def rate_limited(limit: int) -> str:
    """The refusal past ``HEED_APPEALS_PER_DAY``."""
    if limit == 0:
        return ":no_entry: Appeals are turned off here (`HEED_APPEALS_PER_DAY=0`)."
    return (
        f":no_entry: You have made {limit} appeal{'s' * (limit != 1)} in the last day, the most "
        "Heed accepts: try again tomorrow, or ask a labeler."
    )


def filed_line(prediction: Prediction) -> str:
    """What the author is told when the appeal is filed."""
    label = escape_and_shorten(prediction.label, LABEL_CHARS)
    return (
        f":scales: Your appeal of Heed's label *{label}* is with Heed's labelers; you will hear "
        "here what they decide."
    )


def decision_line(appeal: Appeal, prediction: Prediction) -> str:
    """What the author is told privately when a labeler's or admin's answer decides."""
    where = f" in <#{prediction.channel}>" if prediction.channel else ""
    label = escape_and_shorten(prediction.label, LABEL_CHARS)
    if appeal.status == UPHELD:
        verdict = f"was *upheld* by <@{appeal.decided_by}>: the label stays *{label}*."
    else:
        chosen = escape_and_shorten(appeal.decided_label or "?", LABEL_CHARS)
        verdict = f"was accepted by <@{appeal.decided_by}>: the label is changed to *{chosen}*."
    return f":scales: Your appeal of Heed's label *{label}* on your message{where} {verdict}"
