"""The "Classify with Heed" message shortcut: ack at once, hand off to
:func:`bot.handlers.shortcut.shortcut_job`."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.handlers.shortcut import shortcut_job
from bot.services import services_of

CLASSIFY_MESSAGE = "heed_classify_message"
"""The shortcut's ``callback_id`` (declared in ``slack-manifest.yaml``)."""


def on_message_shortcut(
    ack: Ack, shortcut: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    """Ack at once (Slack allows 3 s; the model may need more), then hand off."""
    ack()
    services = services_of(context)
    services.submit_after_ack(
        shortcut_job,
        services,
        client,
        respond,
        shortcut,
        respond=respond,
        bolt_context=context,
        body=shortcut,
    )
