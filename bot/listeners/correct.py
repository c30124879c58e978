"""The "Correct Heed's label" message shortcut: hand off to
:func:`bot.handlers.correct.correct_job` (with the installing workspace, from ``auth.test``)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.handlers.correct import correct_job
from bot.listeners.handoff import ack_and_hand_off, installing_team
from bot.services import services_of

CORRECT_LABEL = "heed_correct_label"
"""The shortcut's ``callback_id`` (declared in ``slack-manifest.yaml``)."""


def on_correct_shortcut(
    ack: Ack, shortcut: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    """Hand off, then ack."""
    ack_and_hand_off(
        ack,
        correct_job,
        services_of(context),
        client,
        respond,
        shortcut,
        installing_team(context),
        respond=respond,
        context=context,
        body=shortcut,
    )
