"""The "✓ Correct" button and the "Actually it's…" menu: ack, hand off to
:func:`bot.handlers.feedback.feedback_job`."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.feedback import CONFIRM_ACTION, CORRECT_ACTION
from bot.handlers.feedback import feedback_job
from bot.listeners.handoff import hand_off_action

FEEDBACK_ACTIONS = re.compile(f"^({re.escape(CONFIRM_ACTION)}|{re.escape(CORRECT_ACTION)})$")


def on_feedback(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    respond: Respond,
    context: BoltContext,
) -> None:
    """Hand off (with the installing workspace, from ``auth.test``), then ack."""
    hand_off_action(ack, feedback_job, body, action, client, respond, context)
