"""Auto-tagging: new human messages in ``HEED_AUTOTAG_CHANNELS`` get their label's reaction.

Which messages count (see :func:`is_taggable`): plain messages, thread replies, thread
broadcasts (``thread_broadcast``: a human reply also shown in the channel), ``/me`` messages
and file shares with text. Skipped: every other subtype (edits ``message_changed``,
deletions, joins/leaves, ``bot_message``, ...), anything with a ``bot_id``/``bot_profile``,
this app's own user, hidden and empty messages, and channels not configured.

Each event is handled once: its ``event_id`` and its ``(channel, ts)`` go into a bounded TTL
cache, so a redelivery (``retry_attempt`` > 0, same ``event_id``) or the same message under
another event id is ignored. Texts are classified through the :class:`MicroBatcher` (one
forward pass per burst); the reaction and the optional thread note run as jobs.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.replies import api_error, upload_heatmap
from bot.services import Services
from bot.text import slack_to_plain
from classifier import heatmap
from classifier.types import Prediction

log = logging.getLogger(__name__)

TAGGABLE_SUBTYPES = frozenset({None, "thread_broadcast", "me_message", "file_share"})


def is_taggable(event: dict[str, Any], bot_user_id: str | None, bot_id: str | None = None) -> bool:
    """True for a new, non-empty message written by a person (not a bot, not this app)."""
    if event.get("type") != "message" or event.get("subtype") not in TAGGABLE_SUBTYPES:
        return False
    if event.get("hidden") or event.get("bot_id") or event.get("bot_profile"):
        return False
    user = event.get("user")
    if not user or user == bot_user_id or (bot_id and event.get("bot_id") == bot_id):
        return False
    has_text = bool((event.get("text") or "").strip())
    return has_text and bool(event.get("channel")) and bool(event.get("ts"))


def event_context(event: dict[str, Any]) -> dict[str, Any]:
    """Who/where of a message event, for logs."""
    return {
        "event": "message",
        "channel": event.get("channel"),
        "user": event.get("user"),
        "ts": event.get("ts"),
    }


def _channel_name(client: WebClient, channel: str) -> str | None:
    return client.conversations_info(channel=channel)["channel"].get("name")


def tag_job(
    services: Services,
    client: WebClient,
    event: dict[str, Any],
    text: str,
    future: Future[Prediction],
) -> None:
    """React with the label's emoji; above the threshold, for notify labels, add a thread note
    and the heatmap."""
    prediction = future.result()
    channel, ts = event["channel"], event["ts"]
    settings = services.settings
    emoji = settings.emoji_for(prediction.label)
    if emoji is None:
        log.info("no emoji for label %r (set HEED_LABEL_EMOJI); not reacting", prediction.label)
    else:
        try:
            client.reactions_add(channel=channel, timestamp=ts, name=emoji)
        except SlackApiError as exc:
            if api_error(exc) != "already_reacted":
                log.warning("cannot add :%s: to %s/%s: %s", emoji, channel, ts, api_error(exc))
    if not settings.should_notify(prediction.label, prediction.confidence):
        return
    explanation = services.holder.get().explain(text, settings.explain_method)
    png = heatmap.render(explanation)
    thread_ts = event.get("thread_ts") or ts
    client.chat_postMessage(
        channel=channel, thread_ts=thread_ts, text=blocks.autotag_note(prediction)
    )
    failure = upload_heatmap(
        client, channel=channel, thread_ts=thread_ts, png=png, explanation=explanation
    )
    if failure:
        client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=blocks.upload_failed_note(failure)
        )


def register(app: App, services: Services) -> None:
    """Add the ``message`` event listener (every subtype is acked; only some are tagged)."""
    matcher = services.channels
    assert matcher is not None and services.batcher is not None

    @app.event("message")
    def on_message(
        event: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        if not matcher.enabled or not is_taggable(event, context.bot_user_id, context.bot_id):
            return
        channel, ts = event["channel"], event.get("ts")
        if not matcher.matches(channel, lambda c: _channel_name(client, c)):
            return
        if not services.seen.first_time(body.get("event_id"), (channel, ts)):
            log.info("ignoring a redelivered event %s (%s/%s)", body.get("event_id"), channel, ts)
            return
        text = slack_to_plain(event.get("text") or "")
        future = services.batcher.submit(text)

        def tag(done: Future[Prediction]) -> None:
            services.submit(
                tag_job, services, client, event, text, done, context=event_context(event)
            )

        future.add_done_callback(tag)
