"""The *Classify with Heed* message shortcut: classify the message with its channel's task (the
default task elsewhere) and answer only the person who clicked (:mod:`bot.handlers.reply`)."""

from __future__ import annotations

from dataclasses import replace

from bot.blocks.classify import NO_TEXT_NOTE
from bot.handlers.reply import channel_task, classify_and_reply
from bot.services import Answer, Request
from bot.slack_api.text import clean_input, slack_to_plain

CLASSIFY_MESSAGE = "heed_classify_message"
"""The shortcut's ``callback_id`` (declared in ``slack-manifest.yaml``)."""


def accept_shortcut(request: Request) -> Request | Answer:
    """The ack step: a user over ``HEED_CLASSIFY_PER_MINUTE`` is acked and nothing more."""
    if request.services.rate_limited(request.user) > 0:
        return Answer()
    return request


def shortcut_job(request: Request) -> None:
    """Classify the shortcut's message and answer the clicking user privately."""
    message = request.body.get("message") or {}
    text = clean_input(slack_to_plain(message.get("text") or ""))
    if not text:
        request.private(NO_TEXT_NOTE)
        return
    tasks = request.services.settings.tasks
    name = channel_task(request)
    task = tasks.by_name[name] if name else tasks.default
    request = replace(request, task=task, text=text, method=task.explain_method)
    classify_and_reply(request, private=True, asked_line=False)
