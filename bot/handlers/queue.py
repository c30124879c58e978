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

from bot.blocks.admin import admin_usage
from bot.blocks.common import one_line
from bot.blocks.queue import NOT_A_LABELER, QUEUE_ACTION, QUEUE_SHOWN, queue_message
from bot.handlers.checks import audited, may_label
from bot.services import Request

log = logging.getLogger(__name__)


def queue_command(request: Request, error: str | None) -> None:
    """Check that the user may label, audit the attempt, then show the task's queue (or the
    usage help when ``error`` says the task named is unknown)."""
    services, user, task = request.services, request.user, request.task.name
    decision = may_label(request, None)
    detail = f"{decision.reason}; channel {request.channel or None}; task {task}"
    if error is not None:
        detail += f"; {one_line(error, 120)}"
    if not audited(request, QUEUE_ACTION, decision.allowed, detail):
        return
    log.info(
        "/heed-admin queue by %s: %s (%s)",
        user,
        "allowed" if decision.allowed else "refused",
        decision.reason,
    )
    if not decision.allowed:
        request.private(NOT_A_LABELER)
        return
    if error is not None:
        request.private(admin_usage(error))
        return
    items = services.db.queue.top(task, QUEUE_SHOWN, services.settings.queue_days)
    request.private(*queue_message(task, items))
