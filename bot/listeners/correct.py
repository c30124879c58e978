"""The "Correct Heed's label" message shortcut: ack at once, hand off to
:func:`bot.handlers.correct.correct_job` (with the installing workspace, from ``auth.test``)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.handlers.correct import correct_job
from bot.services import services_of

CORRECT_LABEL = "heed_correct_label"
"""The shortcut's ``callback_id`` (declared in ``slack-manifest.yaml``)."""


def on_correct_shortcut(
    ack: Ack, shortcut: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    """Ack at once, then hand off."""
    ack()
    services = services_of(context)
    authorized = context.authorize_result
    services.submit_after_ack(
        correct_job,
        services,
        client,
        respond,
        shortcut,
        authorized.team_id if authorized is not None else None,
        respond=respond,
        bolt_context=context,
        body=shortcut,
    )
