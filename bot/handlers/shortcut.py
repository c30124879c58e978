"""The work behind the "Classify with Heed" message shortcut: classify the message's text with
its channel's task (the default task in any other channel) and answer only the person who
clicked.

The reply is the ``/classify`` reply (label, every class's confidence, method, model, the
caveat, feedback controls), posted with ``chat.postEphemeral`` in the message's channel (and
thread); where Heed is not a member it goes to the person's DM instead. The heatmap always goes
by DM, since Slack cannot attach files to ephemeral messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import (
    DM_HEATMAP_NOTE,
    NO_TEXT_NOTE,
    classify_reply,
)
from bot.context import format_context, request_context
from bot.handlers.classify import classify_and_record, remember_where
from bot.services import Services
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error
from bot.slack_api.text import clean_input, slack_to_plain
from bot.slack_api.uploads import upload_heatmap

log = logging.getLogger(__name__)


def shortcut_job(
    services: Services, client: WebClient, respond: Respond, shortcut: dict[str, Any]
) -> None:
    """Classify the shortcut's message with its channel's task (else the default task) and
    that task's explanation method, and answer the clicking user privately: ephemeral where
    the message is (a DM where Heed is not a member), the heatmap by DM."""
    user = (shortcut.get("user") or {}).get("id") or ""
    channel = (shortcut.get("channel") or {}).get("id") or ""
    message = shortcut.get("message") or {}
    where = {**shortcut, "channel_id": channel, "user_id": user}
    text = clean_input(slack_to_plain(message.get("text") or ""))
    if not text:
        respond(text=NO_TEXT_NOTE, response_type="ephemeral", replace_original=False)
        return
    task = services.task(_task_of(services, client, channel))
    done = classify_and_record(
        services, respond, where, text, task.explain_method, user_id=None, task=task.name
    )
    if done is None:
        return
    posted = _reply(client, channel, user, message.get("thread_ts"), done.reply)
    if posted.ts:
        remember_where(services, done.prediction_id, posted.channel, posted.ts)
    explanation, p = done.explanation, done.explanation.prediction
    if not upload_heatmap(
        client, channel=posted.dm, thread_ts=None, png=done.png, explanation=explanation
    ):
        services.metrics.upload_failures.inc()
    log.info(
        "classified a message by shortcut as %s (%.2f) with %s [%s]",
        p.label,
        p.confidence,
        explanation.method,
        format_context(request_context(where)),
    )


def _task_of(services: Services, client: WebClient, channel: str) -> str | None:
    """The task whose channels include ``channel`` (None: the default task)."""
    if services.channels is None or not channel:
        return None
    return services.channels.task_for(
        channel, lambda c: client.conversations_info(channel=c)["channel"].get("name")
    )


@dataclass(frozen=True)
class Posted:
    """Where the private reply went (``channel``, ``ts``) and the user's DM (for the PNG)."""

    channel: str
    ts: str | None
    dm: str


def _reply(
    client: WebClient, channel: str, user: str, thread_ts: str | None, reply: dict[str, Any]
) -> Posted:
    """Post ``reply`` ephemerally in ``channel`` (and thread), or in the user's DM where Heed
    is not a member there."""
    text, blocks = classify_reply(**reply, note=DM_HEATMAP_NOTE)
    try:
        message = client.chat_postEphemeral(
            channel=channel, user=user, thread_ts=thread_ts, text=text, blocks=blocks
        )
        ephemeral_ts: str | None = message.get("message_ts")
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        log.info("not a member of %s (%s): replying by DM", channel, api_error(exc))
        ephemeral_ts = None
        posted_in_channel = False
    else:
        posted_in_channel = True
    dm = client.conversations_open(users=user)["channel"]["id"]
    if posted_in_channel:
        return Posted(channel, ephemeral_ts, dm)
    text, blocks = classify_reply(**reply)  # the heatmap follows in the same DM
    message = client.chat_postMessage(channel=dm, text=text, blocks=blocks, unfurl_links=False)
    return Posted(str(message.get("channel") or dm), message.get("ts"), dm)
