"""Auto-tagging: new human messages in ``HEED_AUTOTAG_CHANNELS`` get their label's reaction.

Which messages count (see :func:`is_taggable`): plain messages, thread replies, thread
broadcasts (``thread_broadcast``: a human reply also shown in the channel), ``/me`` messages
and file shares with text. Skipped: every other subtype (edits ``message_changed``,
deletions, joins/leaves, ``bot_message``, ...), anything with a ``bot_id``/``bot_profile``,
this app's own user, hidden and empty messages (nothing left after :func:`clean_input`),
and channels not configured.

Each event is handled once across every replica: its ``event_id`` and its ``(channel, ts)`` are
claimed in the database (:meth:`~bot.services.Services.first_time`), so a redelivery
(``retry_attempt`` > 0, same ``event_id``, to this replica or another) or the same message under
another event id is ignored, even after a restart. Texts are classified through the
micro-batcher (one forward pass per burst); the reaction and the optional thread note run as
a job (:func:`bot.handlers.autotag.tag_job`).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.context import request_context
from bot.handlers.autotag import tag_job
from bot.services import services_of
from bot.slack_api.text import clean_input, slack_to_plain
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


def _channel_name(client: WebClient, channel: str) -> str | None:
    return client.conversations_info(channel=channel)["channel"].get("name")


def on_message(
    event: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """Classify a taggable message once (batched), then hand the reaction to a job."""
    services = services_of(context)
    matcher, batcher = services.channels, services.batcher
    assert matcher is not None and batcher is not None
    if not matcher.enabled or not is_taggable(event, context.bot_user_id, context.bot_id):
        return
    text = clean_input(slack_to_plain(event.get("text") or ""))
    if not text:  # zero-width or format characters only: nothing to classify or store
        return
    channel, ts = event["channel"], event.get("ts")
    if not matcher.matches(channel, lambda c: _channel_name(client, c)):
        return
    if not services.first_time(body.get("event_id"), channel, ts):
        log.info("ignoring a redelivered event %s (%s/%s)", body.get("event_id"), channel, ts)
        return

    def tag(done: Future[Prediction]) -> None:
        services.submit(tag_job, services, client, event, text, done, context=request_context(body))

    batcher.submit(text).add_done_callback(tag)
