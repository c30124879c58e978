"""The "✓ Correct" button and the "Actually it's…" menu: ack, hand off to
:func:`bot.handlers.feedback.feedback_job`."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.feedback import CONFIRM_ACTION, CORRECT_ACTION
from bot.handlers.feedback import feedback_job
from bot.services import services_of

FEEDBACK_ACTIONS = re.compile(f"^({re.escape(CONFIRM_ACTION)}|{re.escape(CORRECT_ACTION)})$")


def on_feedback(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    respond: Respond,
    context: BoltContext,
) -> None:
    """Ack at once, then hand off (with the installing workspace, from ``auth.test``)."""
    ack()
    services = services_of(context)
    authorized = context.authorize_result
    services.submit_after_ack(
        feedback_job,
        services,
        client,
        respond,
        body,
        action,
        authorized.team_id if authorized is not None else None,
        respond=respond,
        bolt_context=context,
        body=body,
    )
