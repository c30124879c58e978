"""The review channel: post a flagged auto-tagged message there (its link, author, label against
the threshold, heatmap, controls), and the Dismiss button. Confirm and Relabel are the feedback
controls (``handlers/feedback.py``): trusted answers of labelers and admins, audited."""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError

from bot.acting import Plan, would_react
from bot.blocks.feedback import FEEDBACK_UNKNOWN, not_permitted
from bot.blocks.review import Flagged, dismissed_blocks, review_post
from bot.handlers.checks import audited, may_label
from bot.handlers.classify import upload_heatmap
from bot.services import Request
from bot.slack_api.errors import api_error
from bot.slack_api.history import permalink
from classifier.types import Explanation, Prediction

log = logging.getLogger(__name__)

_PREDICTION_ID = re.compile(r"[0-9]{1,18}")
REVIEW_ACTION = "review"  # the audit log's action for a Dismiss, allowed or refused


def post_review(
    request: Request,
    p: Prediction,
    explanation: Explanation,
    png: bytes,
    plan: Plan,
    prediction_id: int | None,
) -> None:
    """Post the auto-tagged message of ``request`` (``p``: the prediction ``plan`` was decided
    on) to its task's review channel, with the heatmap in the post's thread; a Slack failure
    is logged (the tag itself stands)."""
    task, client, event = request.task, request.client, request.body.get("event") or {}
    assert task.review_channel is not None
    flagged = Flagged(
        prediction=p,
        text=request.text,
        author=event.get("user"),
        channel=request.channel,
        permalink=permalink(client, request.channel, event.get("ts") or ""),
        threshold=plan.threshold,
        prediction_id=prediction_id,
        abstain_below=task.abstain_below if plan.abstained else None,
        suggested=plan.suggested,
        would_react=would_react(task, p),
    )
    text, blocks = review_post(flagged)
    try:
        posted = client.chat_postMessage(
            channel=task.review_channel, text=text, blocks=blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        log.warning("cannot post to the review channel %s: %s", task.review_channel, api_error(exc))
        return
    uploaded = upload_heatmap(
        client,
        channel=posted.get("channel") or task.review_channel,
        thread_ts=posted["ts"],
        png=png,
        explanation=explanation,
    )
    if not uploaded:
        request.services.metrics.upload_failures.inc()


def dismiss_job(request: Request) -> None:
    """Dismiss a review post: labelers and admins only, audited; the controls go, no label is
    recorded."""
    value = str(request.action.get("value") or "")
    known = _PREDICTION_ID.fullmatch(value) is not None  # no SQLite overflow from a huge id
    prediction = request.services.db.predictions.get(int(value)) if known else None
    if prediction is None:
        if audited(request, REVIEW_ACTION, False, f"dismiss: unknown prediction {value[:60]!r}"):
            request.private(FEEDBACK_UNKNOWN)
        return
    decision = may_label(request, None)  # nobody asked for an auto-tag: no asker's say
    detail = f"dismiss prediction {prediction.id}; task {prediction.task}; {decision.reason}"
    if not audited(request, REVIEW_ACTION, decision.allowed, detail):
        return
    if not decision.allowed:
        request.private(not_permitted(False))
        return
    message = request.body.get("message") or {}
    container = request.body.get("container") or {}
    channel, ts = request.channel, container.get("message_ts") or message.get("ts")
    blocks = dismissed_blocks(message.get("blocks") or [], request.user)
    try:
        request.client.chat_update(
            channel=channel, ts=ts, text=message.get("text") or "Dismissed", blocks=blocks
        )
    except SlackApiError as exc:
        log.warning("cannot update the review post %s/%s: %s", channel, ts, api_error(exc))
    log.info("review of prediction %d dismissed by %s", prediction.id, request.user)
