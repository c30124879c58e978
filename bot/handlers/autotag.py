"""Auto-tagging: a person's new message in a task's channels is queued in the database before
its ack; a worker (:mod:`bot.handlers.autotag_worker`) then acts on it as the task's mode,
thresholds and ``abstain_below`` decide (:mod:`bot.acting`): its label's reaction, a thread
note with feedback controls and the heatmap, a post in the review channel."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.acting import decide
from bot.blocks.classify import autotag_blocks
from bot.database.pending import PendingTag
from bot.handlers.classify import channel_task, record_prediction, upload_heatmap
from bot.handlers.review import post_review
from bot.handlers.shadow import observe
from bot.services import Answer, Request, Services
from bot.slack_api.errors import api_error
from bot.slack_api.text import clean_input, slack_to_plain
from bot.tasks import Task
from classifier import heatmap
from classifier.types import ExplanationUnavailable, Prediction

log = logging.getLogger(__name__)

TAGGABLE_SUBTYPES = frozenset({None, "thread_broadcast", "me_message", "file_share"})


def is_taggable(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """True for a new, non-empty message written by a person (not a bot, not this app): plain
    messages, thread replies and broadcasts, ``/me`` messages and file shares with text."""
    if event.get("type") != "message" or event.get("subtype") not in TAGGABLE_SUBTYPES:
        return False
    if event.get("hidden") or event.get("bot_id") or event.get("bot_profile"):
        return False
    user = event.get("user")
    if not user or user == bot_user_id:  # any bot_id, this app's included, returned above
        return False
    has_text = bool((event.get("text") or "").strip())
    return has_text and bool(event.get("channel")) and bool(event.get("ts"))


class NotQueued(RuntimeError):
    """A message could not be stored (the database failed): it is not acked, so Slack
    delivers it again."""


def may_tag(services: Services, channel: str) -> bool:
    """Whether ``channel`` can be a task's, known without a Slack call: a configured ID, or any
    channel while some are configured by ``#name`` (the worker resolves the name)."""
    matcher = services.channels
    return channel in matcher.ids or bool(matcher.names)


def queue_message(request: Request) -> Answer:
    """The ack step: store a taggable message with visible text, of a channel that may be
    tagged, with its event keys in one transaction (no model or Slack call), then ack.
    Raises :class:`NotQueued` when the database fails (no ack: Slack retries)."""
    services, event = request.services, request.body.get("event") or {}
    if not services.channels.enabled or not is_taggable(event, request.bot_user):
        return Answer()
    text = clean_input(slack_to_plain(event.get("text") or ""))
    if not text or not may_tag(services, request.channel):
        return Answer()  # zero-width or format characters only: nothing to classify or store
    event_id, ts = request.body.get("event_id"), event["ts"]
    try:
        queued = services.db.pending.enqueue(
            [f"event:{event_id}"] if event_id else [],
            channel=request.channel,
            message_ts=ts,
            text=text,
            user=event.get("user"),
            thread_ts=event.get("thread_ts"),
        )
    except Exception as exc:
        services.metrics.autotags.labels("not_queued").inc()
        log.exception("cannot queue %s/%s; not acked, Slack will retry", request.channel, ts)
        raise NotQueued(f"{request.channel}/{ts}") from exc
    if not queued:
        log.info("ignoring a redelivered event %s (%s/%s)", event_id, request.channel, ts)
        services.metrics.autotags.labels("redelivered").inc()
    return Answer()


def tag_request(services: Services, client: Any, tag: PendingTag, task: Task) -> Request:
    """The request a queued message's tag works with (its event rebuilt for the log lines)."""
    event = {"type": "message", "channel": tag.channel, "ts": tag.message_ts, "user": tag.user}
    if tag.thread_ts:
        event["thread_ts"] = tag.thread_ts
    body = {"type": "event_callback", "event": event}
    return Request(
        services, client, body, task, user=tag.user or "", channel=tag.channel, text=tag.text
    )


def task_of(services: Services, client: Any, channel: str) -> str | None:
    """The task auto-tagging ``channel`` (a ``#name`` looked up once, then cached)."""
    body = {"type": "event_callback", "event": {"channel": channel}}
    request = Request(services, client, body, services.settings.tasks.default, channel=channel)
    return channel_task(request)


def tag_message(request: Request, tag: PendingTag, predicted: Prediction) -> None:
    """Act on the prediction as :func:`bot.acting.decide` plans for the task: the reaction, a
    thread note and the heatmap for flagged messages, a review-channel post. At most once per
    message: the prediction is looked up by channel and ts before it is stored, Slack refuses a
    second identical reaction, and the note and review post are marked once posted."""
    services, client, task, text = request.services, request.client, request.task, request.text
    channel, ts = tag.channel, tag.message_ts
    plan = decide(task, predicted)
    prediction_id = services.db.pending.recorded(channel, ts)
    first = prediction_id is None
    if prediction_id is None:
        prediction_id = record_prediction(
            request,
            predicted,
            user=tag.user,
            message_ts=ts,
            source="autotag",
            queue_first=plan.queue_first,
        )
    if plan.react is not None:
        try:
            client.reactions_add(channel=channel, timestamp=ts, name=plan.react)
        except SlackApiError as exc:
            if api_error(exc) != "already_reacted":
                log.warning("cannot add :%s: to %s/%s: %s", plan.react, channel, ts, api_error(exc))
    if first:
        observe(request, prediction_id)
    if tag.noted or not (plan.thread_note or plan.review):
        return
    classifier = services.models.holder(task.name).get()
    try:
        explanation = services.explainer.explain(classifier, text, task.explain_method)
    except ExplanationUnavailable as exc:  # nobody asked for this method: use one that works
        log.warning("%s; the auto-tag note is explained with gradient", exc)
        explanation = classifier.explain(text, "gradient")
    png = heatmap.render(explanation)
    if plan.review:
        post_review(request, predicted, explanation, png, plan, prediction_id)
    if not plan.thread_note:
        services.db.pending.mark_noted(tag.id)
        return
    thread_ts = tag.thread_ts or ts
    note, note_blocks = autotag_blocks(predicted, prediction_id, plan.threshold)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note, blocks=note_blocks)
    services.db.pending.mark_noted(tag.id)
    if not upload_heatmap(
        client, channel=channel, thread_ts=thread_ts, png=png, explanation=explanation
    ):
        services.metrics.upload_failures.inc()
