"""Auto-tagging: new human messages in ``HEED_AUTOTAG_CHANNELS`` get their label's reaction.

Which messages count (see :func:`is_taggable`): plain messages, thread replies, thread
broadcasts (``thread_broadcast``: a human reply also shown in the channel), ``/me`` messages
and file shares with text. Skipped: every other subtype (edits ``message_changed``,
deletions, joins/leaves, ``bot_message``, ...), anything with a ``bot_id``/``bot_profile``,
this app's own user, hidden and empty messages (nothing left after :func:`clean_input`),
and channels not configured.

The listener only checks the message itself and hands it to
:func:`bot.handlers.autotag.route_job` (no Slack or database call on Bolt's threads), which
resolves channel names, claims the event once across every replica, classifies through the
micro-batcher and reacts. When the job queue is full the message is dropped and counted
(``heed_autotags_total{outcome="dropped_busy"}``).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.context import request_context
from bot.handlers.autotag import route_job
from bot.jobpool import Busy
from bot.services import services_of
from bot.slack_api.text import clean_input, slack_to_plain

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


def on_message(
    event: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """Hand a taggable message to :func:`~bot.handlers.autotag.route_job`."""
    services = services_of(context)
    matcher = services.channels
    assert matcher is not None
    if not matcher.enabled or not is_taggable(event, context.bot_user_id, context.bot_id):
        return
    if not clean_input(slack_to_plain(event.get("text") or "")):
        return  # zero-width or format characters only: nothing to classify or store
    try:
        services.submit(route_job, services, client, event, body, context=request_context(body))
    except Busy:
        services.metrics.autotags.labels("dropped_busy").inc()
