"""``/classify [--task NAME] [--explain METHOD] TEXT``: parse, ack (with help when there is
nothing to classify or the task is unknown, with a note when the user is over
``HEED_CLASSIFY_PER_MINUTE`` or Heed is busy), hand the work to
:func:`bot.handlers.classify.classify_job`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.classify import unknown_method_error, unknown_task_error, usage
from bot.context import format_context, request_context
from bot.handlers.classify import classify_job
from bot.listeners.handoff import ack_and_hand_off, over_rate_limit
from bot.services import services_of
from bot.slack_api.text import clean_input, slack_to_plain
from classifier.types import EXPLAIN_METHODS

log = logging.getLogger(__name__)

CLASSIFY = "/classify"
_FLAG = re.compile(r"\s*(--explain|-e|--task|-t)(?:=|\s+|$)(\S*)", re.IGNORECASE)
_HELP = {"help", "-h", "--help"}


@dataclass(frozen=True)
class ClassifyArgs:
    """A parsed ``/classify``: ``text``, ``method`` (None: the task's) and ``task`` (None:
    the default), or ``help`` (with maybe ``error``)."""

    text: str = ""
    method: str | None = "attention"
    help: bool = False
    error: str | None = None
    task: str | None = None


def parse_classify(raw: str, default_method: str | None = "attention") -> ClassifyArgs:
    """Parse ``[--task|-t NAME] [--explain|-e METHOD] TEXT`` (flags before the text, in any
    order; ``--`` ends them). The task name is not checked here (the caller knows the tasks)."""
    rest, method, task = raw or "", default_method, None
    while True:
        match = _FLAG.match(rest)
        if match is None:
            break
        flag, value = match.group(1).lower(), match.group(2).lower()
        if flag in ("--task", "-t"):
            if not value:
                return ClassifyArgs(help=True, error="--task needs a task name", method=method)
            task, rest = value, rest[match.end() :]
            continue
        if not value:
            return ClassifyArgs(help=True, error="--explain needs a method", method=method)
        if value not in EXPLAIN_METHODS:
            return ClassifyArgs(help=True, error=unknown_method_error(value), method=method)
        method, rest = value, rest[match.end() :]
    rest = rest.strip()
    if rest.startswith("--") and (rest == "--" or rest[2:3].isspace()):
        rest = rest[2:].strip()
    elif rest.lower() in _HELP:
        return ClassifyArgs(help=True, method=method, task=task)
    text = clean_input(slack_to_plain(rest))
    if not text:  # nothing visible: zero-width or format characters only
        return ClassifyArgs(help=True, method=method, task=task)
    return ClassifyArgs(text=text, method=method, task=task)


def on_classify(
    ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    """Ack at once (the usage help instead when there is nothing to classify), then hand off."""
    services = services_of(context)
    tasks = services.settings.tasks
    names = [tasks.default_name] + [n for n in tasks.names if n != tasks.default_name]
    try:
        args = parse_classify(command.get("text", ""), default_method=None)
    except Exception:  # never fail before the ack
        log.exception("cannot parse /classify text [%s]", format_context(request_context(command)))
        args = ClassifyArgs(help=True)
    task = tasks.get(args.task) if args.task is not None else tasks.default
    if task is None:
        args = ClassifyArgs(help=True, error=unknown_task_error(args.task or "", names))
        task = tasks.default
    if args.help:
        text, help_blocks = usage(args.error, task.explain_method, names)
        ack(text=text, blocks=help_blocks)
        return
    if over_rate_limit(ack, context, command.get("user_id"), command=True):
        return
    ack_and_hand_off(
        ack,
        classify_job,
        services,
        client,
        respond,
        command,
        args.text,
        args.method or task.explain_method,
        task.name,
        respond=respond,
        context=context,
        body=command,
    )
