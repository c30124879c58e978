"""``/classify [--task NAME] [--explain METHOD] TEXT`` and the *Classify with Heed* message
shortcut (private, with its channel's task); both reply through :mod:`bot.handlers.reply`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.blocks.classify import NO_TEXT_NOTE, unknown_method_error, unknown_task_error, usage_text
from bot.blocks.common import section, slow_down_note
from bot.handlers.reply import channel_task, classify_and_reply
from bot.services import Answer, Request
from bot.slack_api.text import clean_input, slack_to_plain
from classifier.types import EXPLAIN_METHODS

CLASSIFY = "/classify"
CLASSIFY_MESSAGE = "heed_classify_message"  # the shortcut's callback_id in slack-manifest.yaml
_FLAG = re.compile(r"\s*(--explain|-e|--task|-t)(?:=|\s+|$)(\S*)", re.IGNORECASE)
_HELP = {"help", "-h", "--help"}


@dataclass(frozen=True)
class ClassifyArgs:
    """A parsed ``/classify``: ``text``, ``method`` (None: the task's) and ``task`` (None:
    the default), or ``help`` (with maybe ``error``)."""

    text: str = ""
    method: str | None = None
    help: bool = False
    error: str | None = None
    task: str | None = None


def parse_classify(raw: str) -> ClassifyArgs:
    """Parse ``[--task|-t NAME] [--explain|-e METHOD] TEXT`` (flags before the text, in any
    order; ``--`` ends them). The task name is not checked here (the caller knows the tasks)."""
    rest, method, task = raw or "", None, None
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


def accept_classify(request: Request) -> Request | Answer:
    """The ack step: the text, task and method; or the usage help, or the rate limit."""
    services = request.services
    tasks = services.settings.tasks
    names = [tasks.default_name] + [n for n in tasks.names if n != tasks.default_name]
    args = parse_classify(str(request.body.get("text") or ""))
    task = tasks.by_name.get(args.task) if args.task is not None else tasks.default
    if task is None:
        args = ClassifyArgs(help=True, error=unknown_task_error(args.task or "", names))
        task = tasks.default
    if args.help:
        text = usage_text(task.explain_method, names, args.error)
        return Answer(text, [section(text)])
    wait = services.rate_limited(request.user)
    if wait > 0:
        return Answer(slow_down_note(wait))
    return replace(request, task=task, text=args.text, method=args.method or task.explain_method)


def classify_job(request: Request) -> None:
    """Classify and explain the text, then reply (public or private) with the heatmap."""
    classify_and_reply(request, private=request.services.settings.private_replies)


def accept_shortcut(request: Request) -> Request | Answer:
    """The ack step: a user over ``HEED_CLASSIFY_PER_MINUTE`` is acked and nothing more."""
    return Answer() if request.services.rate_limited(request.user) > 0 else request


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
