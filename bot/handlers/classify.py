"""The work behind ``/classify``: explain, draw, record, reply (public or private), upload.

One eager pass explains the text and gives the prediction (batched with concurrent requests
for the one-pass methods, :mod:`bot.serving.explaining`); the heatmap is rendered; the
prediction is recorded when there is a database (its id goes into the reply's feedback
controls); the Block Kit reply is posted and where it went remembered; the PNG is uploaded
with ``files_upload_v2`` (or the reply says why not).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import (
    DM_HEATMAP_NOTE,
    NOT_IN_CHANNEL_NOTE,
    classify_reply,
    unavailable_method_note,
)
from bot.blocks.feedback import feedback_elements
from bot.context import format_context, request_context
from bot.services import Services
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error
from bot.slack_api.uploads import upload_heatmap
from classifier import heatmap
from classifier.types import Explanation, ExplanationUnavailable

log = logging.getLogger(__name__)

Posted = Callable[[str, str], None]
"""``posted(channel, ts)``: told where the reply went."""


@dataclass(frozen=True)
class Classified:
    """A text explained, drawn and recorded: what a reply is built from."""

    explanation: Explanation
    png: bytes
    prediction_id: int | None
    reply: dict[str, Any]
    """The keyword arguments of :func:`bot.blocks.classify.classify_reply`."""


def classify_and_record(
    services: Services,
    respond: Respond,
    where: dict[str, Any],
    text: str,
    method: str,
    user_id: str | None = None,
    task: str | None = None,
) -> Classified | None:
    """Explain ``text`` with ``task``'s serving model (the default task's for None; kept for
    the whole request, even across a swap), draw the heatmap and record the prediction
    (``where`` names channel and user). When the model's architecture cannot explain with
    ``method``, say so privately and return None."""
    task_name = services.task(task).name
    classifier = services.classifier(task_name)
    try:
        explanation = services.explainer.explain(classifier, text, method)
    except ExplanationUnavailable as exc:
        log.info("%s [%s]", exc, format_context(request_context(where)))
        respond(
            text=unavailable_method_note(str(exc)),
            response_type="ephemeral",
            replace_original=False,
        )
        return None
    p = explanation.prediction
    services.metrics.predictions.labels("classify", p.label).inc()
    prediction_id = record_prediction(services, where, text, explanation, task_name)
    reply = {
        "explanation": explanation,
        "text": text,
        "user_id": user_id,
        "max_tokens": classifier.max_length,
        "feedback": feedback_elements(prediction_id, p.label, list(p.scores))
        if prediction_id is not None
        else None,
    }
    return Classified(explanation, heatmap.render(explanation), prediction_id, reply)


def remember_where(services: Services, prediction_id: int | None, channel: str, ts: str) -> None:
    """Store where a recorded prediction's reply was posted (failures are logged)."""
    if prediction_id is None or services.db is None:
        return
    try:
        services.db.predictions.set_message(prediction_id, channel=channel, message_ts=ts)
    except Exception:
        log.exception("cannot store where prediction %d was posted", prediction_id)


def classify_job(
    services: Services,
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    text: str,
    method: str,
    task: str | None = None,
) -> None:
    """Classify and explain ``text`` with ``task``'s model (the default task's for None),
    then reply (public or private) with the heatmap; when the serving model's architecture
    cannot explain with ``method``, say so privately."""
    started = time.monotonic()
    user = command.get("user_id")
    done = classify_and_record(services, respond, command, text, method, user, task)
    if done is None:
        return

    def posted(channel: str, ts: str) -> None:
        remember_where(services, done.prediction_id, channel, ts)

    if services.settings.private_replies:
        uploaded = _reply_private(client, respond, command, done.reply, done.png, posted)
    else:
        uploaded = _reply_public(client, respond, command, done.reply, done.png, posted)
    if not uploaded:
        services.metrics.upload_failures.inc()
    p = done.explanation.prediction
    log.info(
        "classified as %s (%.2f) with %s in %.0f ms [%s]",
        p.label,
        p.confidence,
        method,
        (time.monotonic() - started) * 1000,
        format_context(request_context(command)),
    )


def record_prediction(
    services: Services,
    command: dict[str, Any],
    text: str,
    explanation: Explanation,
    task: str = "default",
) -> int | None:
    """Store the prediction for feedback; None without a database, or (with a log line) when
    the database fails, so the reply still goes out, without controls."""
    if services.db is None:
        return None
    p = explanation.prediction
    try:
        return services.db.predictions.record(
            text=text,
            label=p.label,
            confidence=p.confidence,
            scores=p.scores,
            model_version=p.model,
            method=explanation.method,
            channel=command.get("channel_id"),
            user=command.get("user_id"),
            task=task,
            queue=None if _in_dm(command) else services.queue_offer(p.scores),
        )
    except Exception:
        log.exception(
            "cannot record the prediction; replying without feedback controls [%s]",
            format_context(request_context(command)),
        )
        return None


def _in_dm(command: dict[str, Any]) -> bool:
    """Asked in a direct message: a private conversation, never shown to labelers."""
    return str(command.get("channel_id") or "").startswith("D")


def _reply_public(
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    reply: dict,
    png: bytes,
    posted: Posted,
) -> bool:
    """Post the reply (``posted(channel, ts)`` is told where), then the heatmap; False when
    the heatmap could not be uploaded."""
    channel, thread_ts = command["channel_id"], command.get("thread_ts")
    text, reply_blocks = classify_reply(**reply)
    try:
        message = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=reply_blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        log.info("not a member of %s (%s): replying through response_url", channel, api_error(exc))
        text, reply_blocks = classify_reply(**reply, note=NOT_IN_CHANNEL_NOTE)
        respond(text=text, blocks=reply_blocks, response_type="in_channel", replace_original=False)
        return True
    posted(str(message.get("channel") or channel), str(message["ts"]))
    return upload_heatmap(
        client, channel=channel, thread_ts=thread_ts, png=png, explanation=reply["explanation"]
    )


def _reply_private(
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    reply: dict,
    png: bytes,
    posted: Posted,
) -> bool:
    """Reply ephemerally (``posted(channel, message_ts)`` when ``chat.postEphemeral`` took
    it), then send the heatmap by DM; False when the heatmap could not be uploaded."""
    channel, user = command["channel_id"], command["user_id"]
    text, reply_blocks = classify_reply(**reply, note=DM_HEATMAP_NOTE)
    try:
        message = client.chat_postEphemeral(
            channel=channel,
            user=user,
            thread_ts=command.get("thread_ts"),
            text=text,
            blocks=reply_blocks,
        )
        if message.get("message_ts"):
            posted(channel, str(message["message_ts"]))
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        respond(text=text, blocks=reply_blocks, response_type="ephemeral", replace_original=False)
    dm = client.conversations_open(users=user)["channel"]["id"]
    return upload_heatmap(
        client,
        channel=dm,
        thread_ts=None,
        png=png,
        explanation=reply["explanation"],
        tell=lambda note: respond(text=note, response_type="ephemeral", replace_original=False),
    )
