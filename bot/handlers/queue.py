"""``/heed-admin queue [TASK]``: the labelling queue, for the people who may label.

The queue holds people's messages, so only labelers and admins of the installing workspace
(:class:`bot.labeling.LabelCheck`, as for answers, without an asker) see it; every attempt is
written to the audit log (action ``queue``), allowed or refused. The list goes to the asker
only (ephemeral); each item carries the trusted loop's label controls, so an answer takes the
path of any correction (:func:`bot.handlers.feedback.feedback_job`), which then shows the
refreshed queue with the answer recorded.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.blocks.admin import NO_DATABASE, admin_usage
from bot.blocks.common import one_line
from bot.blocks.queue import NOT_A_LABELER, QUEUE_ACTION, QUEUE_SHOWN, queue_message
from bot.handlers.feedback import may_label
from bot.services import Services

log = logging.getLogger(__name__)


def _private(respond: Respond, text: str, blocks: list[dict] | None = None) -> None:
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def queue_command(
    services: Services,
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    task: str,
    error: str | None,
    home_team: str | None,
) -> None:
    """Check that the user may label, audit the attempt, then show ``task``'s queue (or the
    usage help when ``error`` says the task named is unknown)."""
    user = command.get("user_id") or ""
    who = {"id": user, "team_id": command.get("team_id")}
    decision = may_label(services, client, who, home_team, None)
    if services.db is None:
        _private(respond, NO_DATABASE.format(action="queue"))
        return
    detail = f"{decision.reason}; channel {command.get('channel_id')}; task {task}"
    if error is not None:
        detail += f"; {one_line(error, 120)}"
    try:
        services.db.audit.record(user, QUEUE_ACTION, decision.allowed, detail)
    except Exception:
        log.exception("cannot write the audit log; refusing the queue to %s", user)
        _private(respond, ":warning: Heed couldn't write its audit log, so it did nothing.")
        return
    log.info(
        "/heed-admin queue by %s: %s (%s)",
        user,
        "allowed" if decision.allowed else "refused",
        decision.reason,
    )
    if not decision.allowed:
        _private(respond, NOT_A_LABELER)
        return
    if error is not None:
        _private(respond, admin_usage(error))
        return
    items = services.db.queue.top(task, QUEUE_SHOWN, services.settings.queue_days)
    text, blocks = queue_message(task, items)
    _private(respond, text, blocks)
