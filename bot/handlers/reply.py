"""What ``/classify`` and the *Classify with Heed* shortcut share: explain, draw and record a
text, then deliver the reply (public, or ephemeral with the heatmap by DM)."""

from __future__ import annotations

import logging
import time
from typing import Any

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
from bot.context import format_context
from bot.services import Request
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error
from bot.slack_api.uploads import Tell, upload_or_say_why
from classifier import heatmap
from classifier.types import Explanation, ExplanationUnavailable, Prediction

log = logging.getLogger(__name__)

HEATMAP_FILENAME = "heed-heatmap.png"


def channel_task(request: Request) -> str | None:
    """The task whose channels include ``request.channel`` (names via ``conversations.info``)."""
    client = request.client
    return request.services.channels.task_for(
        request.channel, lambda c: client.conversations_info(channel=c)["channel"].get("name")
    )


def classify_and_reply(request: Request, private: bool, asked_line: bool = True) -> None:
    """Explain ``request.text`` with one serving model for the whole request (even across a
    swap), record it and deliver the reply; an unavailable method is said privately."""
    started, services = time.monotonic(), request.services
    classifier = services.models.holder(request.task.name).get()
    try:
        explanation = services.explainer.explain(classifier, request.text, request.method)
    except ExplanationUnavailable as exc:
        log.info("%s [%s]", exc, format_context(request.context))
        request.private(unavailable_method_note(str(exc)))
        return
    p = explanation.prediction
    services.metrics.predictions.labels("classify", p.label).inc()
    in_dm = request.channel.startswith("D")  # asked in a DM: never offered to the queue
    reply = Reply(
        explanation,
        request.text,
        user_id=request.user if asked_line else None,
        max_tokens=classifier.max_length,
        prediction_id=record_prediction(
            request, p, method=explanation.method, user=request.user or None, queue=not in_dm
        ),
    )
    deliver(request, reply, heatmap.render(explanation), private)
    log.info(
        "classified as %s (%.2f) with %s in %.0f ms (%s) [%s]",
        p.label,
        p.confidence,
        explanation.method,
        (time.monotonic() - started) * 1000,
        "asked" if asked_line else "shortcut",
        format_context(request.context),
    )


def record_prediction(
    request: Request,
    p: Prediction,
    *,
    user: str | None,
    method: str | None = None,
    message_ts: str | None = None,
    source: str = "classify",
    queue: bool = True,
) -> int | None:
    """Store a prediction of ``request.text`` (``queue``: offered to the labelling queue); None,
    logged, when the database fails: the answer still goes out, without controls."""
    services = request.services
    try:
        return services.db.predictions.record(
            text=request.text,
            label=p.label,
            confidence=p.confidence,
            scores=p.scores,
            model_version=p.model,
            method=method,
            channel=request.channel or None,
            user=user,
            message_ts=message_ts,
            source=source,
            task=request.task.name,
            queue=services.queue_offer(p.scores) if queue else None,
        )
    except Exception:
        log.exception("cannot record the %s [%s]", source, format_context(request.context))
        return None


def deliver(request: Request, reply: Reply, png: bytes, private: bool) -> None:
    """Post the reply, remember where, upload the heatmap there (by DM when private); outside
    Heed's channels, by ``response_url`` (public: no heatmap) or, for a shortcut, by DM."""
    client = request.client
    text, blocks = classify_reply(reply, DM_HEATMAP_NOTE if private else None)
    post: dict[str, Any] = {
        "channel": request.channel,
        "thread_ts": request.thread_ts,
        "text": text,
        "blocks": blocks,
    }
    channel, ts, member = request.channel, None, True
    try:
        if private:
            ts = client.chat_postEphemeral(user=request.user, **post).get("message_ts")
        else:
            posted = client.chat_postMessage(unfurl_links=False, **post)
            channel, ts = posted.get("channel") or channel, posted["ts"]
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        log.info("not a member of %s (%s)", request.channel, api_error(exc))
        member = False
        if request.is_command:
            note = DM_HEATMAP_NOTE if private else NOT_IN_CHANNEL_NOTE
            text, blocks = classify_reply(reply, note)
            kind = "ephemeral" if private else "in_channel"
            assert request.respond is not None
            request.respond(text=text, blocks=blocks, response_type=kind, replace_original=False)
        if not private:
            return
    dm = client.conversations_open(users=request.user)["channel"]["id"] if private else None
    if not member and not request.is_command:
        text, blocks = classify_reply(reply)  # the heatmap follows in the same DM
        posted = client.chat_postMessage(channel=dm, text=text, blocks=blocks, unfurl_links=False)
        channel, ts = posted.get("channel") or dm, posted.get("ts")
    if ts and reply.prediction_id is not None:
        remember_where(request, reply.prediction_id, str(channel), str(ts))
    uploaded = upload_heatmap(
        client,
        channel=dm or request.channel,
        thread_ts=None if private else request.thread_ts,
        png=png,
        explanation=reply.explanation,
        tell=request.private if private else None,
    )
    if not uploaded:
        request.services.metrics.upload_failures.inc()


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
