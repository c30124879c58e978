"""The "Classify with Heed" message shortcut: ack at once, hand off to
:func:`bot.handlers.shortcut.shortcut_job`."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.handlers.shortcut import shortcut_job
from bot.listeners.handoff import ack_and_hand_off, over_rate_limit
from bot.services import services_of

CLASSIFY_MESSAGE = "heed_classify_message"
"""The shortcut's ``callback_id`` (declared in ``slack-manifest.yaml``)."""


def on_message_shortcut(
    ack: Ack, shortcut: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    """Hand off and ack at once (Slack allows 3 s; the model may need more); a user over
    ``HEED_CLASSIFY_PER_MINUTE`` is acked and nothing more."""
    user = (shortcut.get("user") or {}).get("id")
    if over_rate_limit(ack, context, user, command=False):
        return
    ack_and_hand_off(
        ack,
        shortcut_job,
        services_of(context),
        client,
        respond,
        shortcut,
        respond=respond,
        context=context,
        body=shortcut,
    )
