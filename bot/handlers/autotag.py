"""Auto-tagging: a person's new message in a task's channels is classified and acted on as the
task's mode, thresholds and ``abstain_below`` decide (:mod:`bot.acting`): its label's reaction,
a thread note with feedback controls and the heatmap, a post in the review channel."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.acting import decide
from bot.blocks.classify import autotag_blocks
from bot.handlers.classify import channel_task, record_prediction, upload_heatmap
from bot.handlers.review import post_review
from bot.handlers.shadow import observe
from bot.jobpool import Busy
from bot.services import Answer, Request, Services
from bot.slack_api.errors import api_error
from bot.slack_api.text import clean_input, slack_to_plain
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


def accept_message(request: Request) -> Request | Answer:
    """The ack step: a taggable message with visible text, where some channel is tagged."""
    event = request.body.get("event") or {}
    if not request.services.channels.enabled or not is_taggable(event, request.bot_user):
        return Answer()
    text = clean_input(slack_to_plain(event.get("text") or ""))
    if not text:
        return Answer()  # zero-width or format characters only: nothing to classify or store
    return replace(request, text=text, received_at=None)  # a tag answers nobody: not timed


def count_dropped(services: Services) -> None:
    """A message not tagged because the job queue was full."""
    services.metrics.autotags.labels("dropped_busy").inc()


def route_job(request: Request) -> None:
    """Classify a message of a task's channel that no replica has seen through the
    micro-batcher, then queue :func:`tag_job`; dropped (and counted) when anything is full."""
    services, event = request.services, request.body.get("event") or {}
    channel, ts = request.channel, event.get("ts")
    name = channel_task(request)
    if name is None:
        return
    try:
        services.models.holder(name)  # loaded on first use
    except Exception as exc:
        log.warning("task %s cannot tag %s/%s: %s", name, channel, ts, exc)
        services.metrics.autotags.labels("no_model").inc()
        return
    event_id = request.body.get("event_id")
    if not services.first_time(event_id, channel, ts):
        log.info("ignoring a redelivered event %s (%s/%s)", event_id, channel, ts)
        services.metrics.autotags.labels("redelivered").inc()
        return
    request = replace(request, task=services.settings.tasks.by_name[name])

    def tag(done: Future[Prediction]) -> None:
        try:
            services.submit(partial(tag_job, prediction=done), request)
        except Busy:
            count_dropped(services)

    try:
        services.batcher.submit((name, request.text)).add_done_callback(tag)
    except Busy:
        count_dropped(services)
        log.warning("auto-tag queue full; message %s/%s not tagged", channel, ts)


def tag_job(request: Request, prediction: Future[Prediction]) -> None:
    """Act on the prediction as :func:`bot.acting.decide` plans for the task: the reaction, a
    thread note and the heatmap for flagged messages, a review-channel post."""
    services, client, task, text = request.services, request.client, request.task, request.text
    predicted = prediction.result()
    services.metrics.autotags.labels("tagged").inc()
    event = request.body.get("event") or {}
    channel, ts = request.channel, event["ts"]
    plan = decide(task, predicted)
    prediction_id = record_prediction(
        request,
        predicted,
        user=event.get("user"),
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
    observe(request, prediction_id)
    if not (plan.thread_note or plan.review):
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
        return
    thread_ts = event.get("thread_ts") or ts
    note, note_blocks = autotag_blocks(predicted, prediction_id, plan.threshold)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note, blocks=note_blocks)
    if not upload_heatmap(
        client, channel=channel, thread_ts=thread_ts, png=png, explanation=explanation
    ):
        services.metrics.upload_failures.inc()
