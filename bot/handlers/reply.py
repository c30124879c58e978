"""What ``/classify`` and the *Classify with Heed* shortcut share: explain, draw and record a
text (:func:`classify_and_record`), then deliver the reply and its heatmap (:func:`deliver`).

One eager pass explains the text and gives the prediction (batched with concurrent requests
for the one-pass methods, :mod:`bot.serving.batching`); the heatmap is rendered; the
prediction is recorded (its id goes into the reply's feedback controls; a failing database
still gets a reply, without controls). The reply goes out public (in the channel or thread,
the heatmap after it) or private (ephemeral where it was asked, the heatmap by DM, since
Slack cannot attach files to ephemeral messages), and where it went is remembered so the
*Correct Heed's label* shortcut can find it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import (
    DM_HEATMAP_NOTE,
    NOT_IN_CHANNEL_NOTE,
    Reply,
    classify_reply,
    heatmap_comment,
    heatmap_title,
    unavailable_method_note,
)
from bot.blocks.feedback import feedback_elements
from bot.context import format_context
from bot.services import Request
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error
from bot.slack_api.uploads import Tell, upload_or_say_why
from classifier import heatmap
from classifier.types import Explanation, ExplanationUnavailable

log = logging.getLogger(__name__)

HEATMAP_FILENAME = "heed-heatmap.png"


@dataclass(frozen=True)
class Classified:
    """A text explained, drawn and recorded: the reply and its heatmap."""

    reply: Reply
    png: bytes
    prediction_id: int | None


def classify_and_record(request: Request, asked_line: bool = True) -> Classified | None:
    """Explain ``request.text`` with ``request.method`` and its task's serving model (kept
    for the whole request, even across a swap), draw the heatmap and record the prediction;
    ``asked_line``: the reply names who asked. When the model's architecture cannot explain
    with that method, say so privately and return None."""
    services = request.services
    classifier = services.models.holder(request.task.name).get()
    try:
        explanation = services.explainer.explain(classifier, request.text, request.method)
    except ExplanationUnavailable as exc:
        log.info("%s [%s]", exc, format_context(request.context))
        request.private(unavailable_method_note(str(exc)))
        return None
    p = explanation.prediction
    services.metrics.predictions.labels("classify", p.label).inc()
    prediction_id = record_prediction(request, explanation)
    reply = Reply(
        explanation,
        request.text,
        user_id=request.user if asked_line else None,
        max_tokens=classifier.max_length,
        feedback=feedback_elements(prediction_id, p.label, list(p.scores))
        if prediction_id is not None
        else None,
    )
    return Classified(reply, heatmap.render(explanation), prediction_id)


def record_prediction(request: Request, explanation: Explanation) -> int | None:
    """Store the prediction for feedback; None (with a log line) when the database fails, so
    the reply still goes out, without controls. Asked in a direct message, it stays private:
    never offered to the labelling queue."""
    services, p = request.services, explanation.prediction
    in_dm = request.channel.startswith("D")
    try:
        return services.db.predictions.record(
            text=request.text,
            label=p.label,
            confidence=p.confidence,
            scores=p.scores,
            model_version=p.model,
            method=explanation.method,
            channel=request.channel or None,
            user=request.user or None,
            task=request.task.name,
            queue=None if in_dm else services.queue_offer(p.scores),
        )
    except Exception:
        log.exception(
            "cannot record the prediction; replying without feedback controls [%s]",
            format_context(request.context),
        )
        return None


def deliver(request: Request, done: Classified, private: bool) -> None:
    """Post the reply, remember where, then upload the heatmap (counted when it fails).

    Public: in the channel (and thread), the heatmap after it. Private: ephemeral there,
    the heatmap by DM. Where Heed is not a member, a slash command answers through its
    ``response_url`` (public: without the heatmap, which cannot be attached there) and a
    shortcut in the person's DM."""
    client, reply = request.client, done.reply
    text, blocks = classify_reply(reply, DM_HEATMAP_NOTE if private else None)
    where: tuple[str, str | None] | None
    try:
        if private:
            message = client.chat_postEphemeral(
                channel=request.channel,
                user=request.user,
                thread_ts=request.thread_ts,
                text=text,
                blocks=blocks,
            )
            where = (request.channel, message.get("message_ts"))
        else:
            message = client.chat_postMessage(
                channel=request.channel,
                thread_ts=request.thread_ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
            )
            where = (str(message.get("channel") or request.channel), str(message["ts"]))
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        log.info("not a member of %s (%s)", request.channel, api_error(exc))
        where = None
        if request.is_command:
            _answer_through_response_url(request, reply, private)
        if not private:
            return
    dm = client.conversations_open(users=request.user)["channel"]["id"] if private else None
    if where is None and private and not request.is_command:
        text, blocks = classify_reply(reply)  # the heatmap follows in the same DM
        message = client.chat_postMessage(channel=dm, text=text, blocks=blocks, unfurl_links=False)
        where = (str(message.get("channel") or dm), message.get("ts"))
    if where is not None and where[1] and done.prediction_id is not None:
        remember_where(request, done.prediction_id, where[0], str(where[1]))
    uploaded = upload_heatmap(
        client,
        channel=dm or request.channel,
        thread_ts=None if private else request.thread_ts,
        png=done.png,
        explanation=reply.explanation,
        tell=request.private if private else None,
    )
    if not uploaded:
        request.services.metrics.upload_failures.inc()


def _answer_through_response_url(request: Request, reply: Reply, private: bool) -> None:
    """A slash command's reply where Heed is not a member."""
    note = DM_HEATMAP_NOTE if private else NOT_IN_CHANNEL_NOTE
    text, blocks = classify_reply(reply, note)
    assert request.respond is not None
    request.respond(
        text=text,
        blocks=blocks,
        response_type="ephemeral" if private else "in_channel",
        replace_original=False,
    )


def remember_where(request: Request, prediction_id: int, channel: str, ts: str) -> None:
    """Store where a recorded prediction's reply was posted (failures are logged)."""
    try:
        request.services.db.predictions.set_message(prediction_id, channel=channel, message_ts=ts)
    except Exception:
        log.exception("cannot store where prediction %d was posted", prediction_id)


def upload_heatmap(
    client: WebClient,
    *,
    channel: str,
    thread_ts: str | None,
    png: bytes,
    explanation: Explanation,
    tell: Tell | None = None,
) -> bool:
    """:func:`~bot.slack_api.uploads.upload_or_say_why` for an explanation's heatmap."""
    return upload_or_say_why(
        client,
        channel=channel,
        thread_ts=thread_ts,
        content=png,
        filename=HEATMAP_FILENAME,
        title=heatmap_title(explanation),
        comment=heatmap_comment(explanation),
        what="heatmap",
        tell=tell,
    )
