"""``/classify [--task NAME] [--explain METHOD] TEXT`` and the *Classify with Heed* message
shortcut (private, with its channel's task): explain, draw, record and deliver the reply."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import (
    DM_HEATMAP_NOTE,
    NO_TEXT_NOTE,
    NOT_IN_CHANNEL_NOTE,
    Reply,
    classify_reply,
    heatmap_comment,
    heatmap_title,
    unavailable_method_note,
    unknown_method_error,
    unknown_task_error,
    usage_text,
)
from bot.blocks.common import section, slow_down_note
from bot.context import format_context
from bot.database.connection import failure_line
from bot.handlers.shadow import observe
from bot.services import Answer, Request
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error
from bot.slack_api.text import clean_input, slack_to_plain
from bot.slack_api.uploads import Tell, upload_or_say_why
from classifier import heatmap
from classifier.types import EXPLAIN_METHODS, Explanation, ExplanationUnavailable, Prediction

log = logging.getLogger(__name__)

HEATMAP_FILENAME = "heed-heatmap.png"
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


def text_author(request: Request) -> str | None:
    """Who wrote the text: a shortcut's message's author ("" when not a person), else None
    (the asker typed it)."""
    message = request.body.get("message")
    return str(message.get("user") or "") if isinstance(message, dict) else None


def may_queue(request: Request) -> bool:
    """Whether this text may reach the labelling queue (seen by every labeler and admin): only
    from a public channel, or from one of the task's own (configured) channels."""
    if channel_task(request) == request.task.name:
        return True
    client = request.client
    return request.services.privacy.is_public(
        request.channel, request.body, lambda c: client.conversations_info(channel=c)["channel"]
    )


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
    reply = Reply(
        explanation,
        request.text,
        user_id=request.user if asked_line else None,
        max_tokens=classifier.max_length,
        abstain_below=request.task.abstain_below if request.task.abstains(p.confidence) else None,
        prediction_id=record_prediction(
            request,
            p,
            method=explanation.method,
            user=request.user or None,
            author=text_author(request),
            queue=may_queue(request),
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
    observe(request, reply.prediction_id)


def record_prediction(
    request: Request,
    p: Prediction,
    *,
    user: str | None,
    method: str | None = None,
    message_ts: str | None = None,
    source: str = "classify",
    queue: bool = True,
    author: str | None = None,
    queue_first: bool = False,
) -> int | None:
    """Store a prediction of ``request.text`` (``queue``: offered to the labelling queue,
    ``queue_first``: ahead of every other item; ``author``: who wrote it, when not ``user``);
    None, logged without the text, when the database fails: the answer still goes out, without
    controls."""
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
            queue=services.queue_offer(p.scores, first=queue_first) if queue else None,
            author=author,
        )
    except Exception as exc:
        why = failure_line(exc)
        log.error("cannot record the %s: %s [%s]", source, why, format_context(request.context))
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
    if ts and reply.prediction_id is not None:  # where it was posted (failures are logged)
        try:
            request.services.db.predictions.set_message(
                reply.prediction_id, channel=str(channel), message_ts=str(ts)
            )
        except Exception as exc:
            log.error(
                "cannot store where prediction %d was posted: %s",
                reply.prediction_id,
                failure_line(exc),
            )
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
