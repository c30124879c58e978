"""The "Why not …?" menu of a ``/classify`` reply: the contrastive explanation of the recorded
text (why the label, not the one picked), answered privately, its heatmap by DM."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.blocks.common import slow_down_note
from bot.blocks.feedback import parse_choice
from bot.blocks.why_not import CANNOT_EXPLAIN, why_not_answer
from bot.handlers.classify import upload_heatmap
from bot.services import Answer, Request
from bot.slack_api.errors import api_error
from classifier import heatmap
from classifier.types import DEFAULT_EXPLAIN_METHOD, SIGNED_METHODS

log = logging.getLogger(__name__)


def accept_why_not(request: Request) -> Request | Answer:
    """The ack step: explanations cost what ``/classify`` costs, so they share its rate limit."""
    wait = request.services.rate_limited(request.user)
    return Answer(slow_down_note(wait)) if wait > 0 else request


def why_not_job(request: Request) -> None:
    """Explain the picked label against the prediction, only where the reply was posted."""
    services, action = request.services, request.action
    value = str((action.get("selected_option") or {}).get("value") or "")
    try:
        prediction_id, choice = parse_choice(value)
    except ValueError:
        request.private(CANNOT_EXPLAIN)
        return
    recorded = services.db.predictions.get(prediction_id)
    task = services.settings.tasks.by_name.get(recorded.task) if recorded else None
    if recorded is None or task is None or recorded.channel != request.channel:
        log.info("why-not for prediction %s from %s refused", prediction_id, request.channel)
        request.private(CANNOT_EXPLAIN)
        return
    classifier = services.models.holder(task.name).get()
    versus = classifier.labels[choice] if isinstance(choice, int) else choice
    method = task.explain_method if task.explain_method in SIGNED_METHODS else None
    try:
        explanation = classifier.explain(
            recorded.text, method or DEFAULT_EXPLAIN_METHOD, versus=versus
        )
    except (ValueError, IndexError) as exc:  # an unknown label, or the one it predicts now
        request.private(f":warning: Heed can't answer that: {exc}.")
        return
    try:
        dm = request.client.conversations_open(users=request.user)["channel"]["id"]
    except SlackApiError as exc:
        log.warning("cannot open a DM for the why-not heatmap: %s", api_error(exc))
        dm = None
    request.private(*why_not_answer(explanation, dm_heatmap=dm is not None))
    if dm is not None and not upload_heatmap(
        request.client,
        channel=dm,
        thread_ts=None,
        png=heatmap.render(explanation),
        explanation=explanation,
    ):
        services.metrics.upload_failures.inc()
