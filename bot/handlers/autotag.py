"""The work behind an auto-tagged message: is its channel tagged, by which task, and is it
new (:func:`route_job`); then, with that task's model, emoji map and notify labels, the
prediction recorded (so it can be corrected), the label's reaction, and for notify labels
above the threshold a thread note (with the heatmap caveat and the feedback controls) and the
heatmap (:func:`tag_job`).

An auto-tag is recorded with ``source="autotag"``, the message's author as ``user`` and the
message's own ``ts``: nobody asked for it, so only labelers and admins may correct it, through
the thread note's controls or the *Correct Heed's label* message shortcut
(:mod:`bot.handlers.correct`)."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import autotag_blocks
from bot.blocks.feedback import feedback_elements
from bot.context import request_context
from bot.jobpool import Busy
from bot.services import Services
from bot.slack_api.errors import api_error
from bot.slack_api.text import clean_input, slack_to_plain
from bot.slack_api.uploads import upload_heatmap
from classifier import heatmap
from classifier.types import ExplanationUnavailable, Prediction

log = logging.getLogger(__name__)


def _channel_name(client: WebClient, channel: str) -> str | None:
    return client.conversations_info(channel=channel)["channel"].get("name")


def route_job(
    services: Services, client: WebClient, event: dict[str, Any], body: dict[str, Any]
) -> None:
    """Tag a message if its channel belongs to a task (names resolved with
    ``conversations.info``) and no replica has seen it: classify it with that task's model
    through the micro-batcher, then queue :func:`tag_job`. A full batcher or job queue drops
    it (counted, logged); so does a task with no model to serve yet."""
    assert services.channels is not None and services.batcher is not None
    channel, ts = event["channel"], event.get("ts")
    task = services.channels.task_for(channel, lambda c: _channel_name(client, c))
    if task is None:
        return
    try:
        services.holder_of(task)  # loaded on first use
    except Exception as exc:
        log.warning("task %s cannot tag %s/%s: %s", task, channel, ts, exc)
        services.metrics.autotags.labels("no_model").inc()
        return
    if not services.first_time(body.get("event_id"), channel, ts):
        log.info("ignoring a redelivered event %s (%s/%s)", body.get("event_id"), channel, ts)
        services.metrics.autotags.labels("redelivered").inc()
        return
    text = clean_input(slack_to_plain(event.get("text") or ""))
    context = request_context(body)

    def tag(done: Future[Prediction]) -> None:
        try:
            services.submit(tag_job, services, client, event, text, done, task, context=context)
        except Busy:
            services.metrics.autotags.labels("dropped_busy").inc()

    try:
        services.batcher.submit((task, text)).add_done_callback(tag)
    except Busy:
        services.metrics.autotags.labels("dropped_busy").inc()
        log.warning("auto-tag queue full; message %s/%s not tagged", channel, ts)


def tag_job(
    services: Services,
    client: WebClient,
    event: dict[str, Any],
    text: str,
    future: Future[Prediction],
    task_name: str | None = None,
) -> None:
    """React with the label's emoji; above the threshold, for notify labels, add a thread note
    and the heatmap (all as ``task_name``'s settings say; the default task's for None)."""
    prediction = future.result()
    services.metrics.autotags.labels("tagged").inc()
    channel, ts = event["channel"], event["ts"]
    task = services.task(task_name)
    prediction_id = _record(services, event, text, prediction, task.name)
    emoji = task.emoji_for(prediction.label)
    if emoji is None:
        log.info("task %s has no emoji for label %r; not reacting", task.name, prediction.label)
    else:
        try:
            client.reactions_add(channel=channel, timestamp=ts, name=emoji)
        except SlackApiError as exc:
            if api_error(exc) != "already_reacted":
                log.warning("cannot add :%s: to %s/%s: %s", emoji, channel, ts, api_error(exc))
    if not task.should_notify(prediction.label, prediction.confidence):
        return
    classifier = services.classifier(task.name)
    try:
        explanation = services.explainer.explain(classifier, text, task.explain_method)
    except ExplanationUnavailable as exc:  # nobody asked for this method: use one that works
        log.warning("%s; the auto-tag note is explained with gradient", exc)
        explanation = classifier.explain(text, "gradient")
    png = heatmap.render(explanation)
    thread_ts = event.get("thread_ts") or ts
    controls = (
        feedback_elements(prediction_id, prediction.label, list(prediction.scores))
        if prediction_id is not None
        else None
    )
    note, note_blocks = autotag_blocks(prediction, controls)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note, blocks=note_blocks)
    if not upload_heatmap(
        client, channel=channel, thread_ts=thread_ts, png=png, explanation=explanation
    ):
        services.metrics.upload_failures.inc()


def _record(
    services: Services, event: dict[str, Any], text: str, prediction: Prediction, task: str
) -> int | None:
    """Store the auto-tag so it can be corrected; None without a database or when storing
    fails (logged: the reaction still goes out)."""
    if services.db is None:
        return None
    try:
        return services.db.predictions.record(
            text=text,
            label=prediction.label,
            confidence=prediction.confidence,
            scores=prediction.scores,
            model_version=prediction.model,
            channel=event["channel"],
            user=event.get("user"),
            message_ts=event["ts"],
            source="autotag",
            task=task,
            queue=services.queue_offer(prediction.scores),
        )
    except Exception:
        log.exception("cannot record the auto-tag of %s/%s", event["channel"], event["ts"])
        return None
