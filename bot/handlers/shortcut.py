"""The "Classify with Heed" message shortcut: classify the message's text with its channel's
task (the default task in any other channel) and answer only the person who clicked.

The reply is the ``/classify`` reply (label, every class's confidence, method, model, the
caveat, feedback controls), posted with ``chat.postEphemeral`` in the message's channel (and
thread); where Heed is not a member it goes to the person's DM instead. The heatmap always goes
by DM, since Slack cannot attach files to ephemeral messages.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.blocks.classify import NO_TEXT_NOTE
from bot.context import format_context
from bot.handlers.reply import classify_and_record, deliver
from bot.services import Answer, Request
from bot.slack_api.text import clean_input, slack_to_plain

log = logging.getLogger(__name__)

CLASSIFY_MESSAGE = "heed_classify_message"
"""The shortcut's ``callback_id`` (declared in ``slack-manifest.yaml``)."""


def accept_shortcut(request: Request) -> Request | Answer:
    """The ack step: a user over ``HEED_CLASSIFY_PER_MINUTE`` is acked and nothing more."""
    if request.services.rate_limited(request.user) > 0:
        return Answer()
    return request


def shortcut_job(request: Request) -> None:
    """Classify the shortcut's message with its channel's task (else the default task) and
    that task's explanation method, and answer the clicking user privately."""
    message = request.body.get("message") or {}
    text = clean_input(slack_to_plain(message.get("text") or ""))
    if not text:
        request.private(NO_TEXT_NOTE)
        return
    services, channel = request.services, request.channel
    name = services.channels.task_for(
        channel, lambda c: request.client.conversations_info(channel=c)["channel"].get("name")
    )
    task = services.settings.tasks.by_name[name] if name else services.settings.tasks.default
    request = replace(request, task=task, text=text, method=task.explain_method)
    done = classify_and_record(request, asked_line=False)
    if done is None:
        return
    deliver(request, done, private=True)
    explanation = done.reply.explanation
    log.info(
        "classified a message by shortcut as %s (%.2f) with %s [%s]",
        explanation.prediction.label,
        explanation.prediction.confidence,
        explanation.method,
        format_context(request.context),
    )
