"""``/classify`` (``/heed-admin`` lives in :mod:`bot.listeners.admin`).

The listener acknowledges first — with the usage help when there is nothing to classify — and
hands the work to a job: explain (one eager pass, which also gives the prediction), render
the heatmap, record the prediction (when a feedback store is configured; its id goes into the
reply's feedback controls), post the Block Kit reply, remember where it was posted, upload
the PNG with ``files_upload_v2``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.replies import NOT_MEMBER_ERRORS, api_error, upload_heatmap
from bot.services import Services, format_context
from bot.text import slack_to_plain
from classifier import heatmap
from classifier.types import EXPLAIN_METHODS, Explanation

log = logging.getLogger(__name__)

CLASSIFY = "/classify"
_FLAG = re.compile(r"\s*(--explain|-e)(?:=|\s+|$)(\S*)", re.IGNORECASE)
_HELP = {"help", "-h", "--help"}


@dataclass(frozen=True)
class ClassifyArgs:
    """A parsed ``/classify``: ``text`` and ``method``, or ``help`` (with maybe ``error``)."""

    text: str = ""
    method: str = "attention"
    help: bool = False
    error: str | None = None


def parse_classify(raw: str, default_method: str = "attention") -> ClassifyArgs:
    """Parse ``[--explain|-e METHOD] TEXT`` (flags before the text; ``--`` ends them)."""
    rest, method = raw or "", default_method
    while True:
        match = _FLAG.match(rest)
        if match is None:
            break
        value = match.group(2).lower()
        if not value:
            return ClassifyArgs(help=True, error="--explain needs a method", method=method)
        if value not in EXPLAIN_METHODS:
            return ClassifyArgs(help=True, error=blocks.unknown_method_error(value), method=method)
        method, rest = value, rest[match.end() :]
    rest = rest.strip()
    if rest.startswith("--") and (rest == "--" or rest[2:3].isspace()):
        rest = rest[2:].strip()
    elif rest.lower() in _HELP:
        return ClassifyArgs(help=True, method=method)
    text = slack_to_plain(rest).strip()
    if not text:
        return ClassifyArgs(help=True, method=method)
    return ClassifyArgs(text=text, method=method)


def command_context(command: dict[str, Any]) -> dict[str, Any]:
    """Who/where of a slash command, for logs (never tokens)."""
    return {
        "command": command.get("command"),
        "channel": command.get("channel_id"),
        "user": command.get("user_id"),
    }


def classify_job(
    services: Services,
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    args: ClassifyArgs,
) -> None:
    """Classify and explain ``args.text``, then reply (public or private) with the heatmap."""
    started = time.monotonic()
    classifier = services.holder.get()  # kept for the whole request, even across a swap
    explanation = classifier.explain(args.text, args.method)
    png = heatmap.render(explanation)
    p = explanation.prediction
    prediction_id, controls = None, None
    if services.feedback_elements is not None:
        controls = services.feedback_elements(explanation, command)
    elif services.feedback is not None:
        prediction_id = _record_prediction(services, command, args.text, explanation)
        if prediction_id is not None:
            controls = blocks.feedback_elements(prediction_id, p.label, list(p.scores))
    reply = {
        "explanation": explanation,
        "text": args.text,
        "user_id": command.get("user_id"),
        "max_tokens": classifier.max_length,
        "feedback": controls,
    }

    def posted(channel: str, ts: str) -> None:
        if prediction_id is None or services.feedback is None:
            return
        try:
            services.feedback.set_prediction_message(prediction_id, channel=channel, message_ts=ts)
        except Exception:
            log.exception("cannot store where prediction %d was posted", prediction_id)

    if services.settings.private_replies:
        _reply_private(client, respond, command, reply, png, posted)
    else:
        _reply_public(client, respond, command, reply, png, posted)
    log.info(
        "classified as %s (%.2f) with %s in %.0f ms [%s]",
        p.label,
        p.confidence,
        args.method,
        (time.monotonic() - started) * 1000,
        format_context(command_context(command)),
    )


def _record_prediction(
    services: Services, command: dict[str, Any], text: str, explanation: Explanation
) -> int | None:
    """Store the prediction for feedback; None (and a log line) when the database fails,
    so the reply still goes out, without controls."""
    assert services.feedback is not None
    p = explanation.prediction
    try:
        return services.feedback.record_prediction(
            text=text,
            label=p.label,
            confidence=p.confidence,
            scores=p.scores,
            model_version=p.model,
            method=explanation.method,
            channel=command.get("channel_id"),
            user=command.get("user_id"),
        )
    except Exception:
        log.exception(
            "cannot record the prediction; replying without feedback controls [%s]",
            format_context(command_context(command)),
        )
        return None


def _reply_public(
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    reply: dict,
    png: bytes,
    posted: Callable[[str, str], None],
) -> None:
    """Post the reply (``posted(channel, ts)`` is told where), then the heatmap."""
    channel, thread_ts = command["channel_id"], command.get("thread_ts")
    text, reply_blocks = blocks.classify_reply(**reply)
    try:
        message = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=reply_blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        log.info("not a member of %s (%s): replying through response_url", channel, api_error(exc))
        text, reply_blocks = blocks.classify_reply(**reply, note=blocks.NOT_IN_CHANNEL_NOTE)
        respond(text=text, blocks=reply_blocks, response_type="in_channel", replace_original=False)
        return
    posted(str(message.get("channel") or channel), str(message["ts"]))
    failure = upload_heatmap(
        client, channel=channel, thread_ts=thread_ts, png=png, explanation=reply["explanation"]
    )
    if failure:
        client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=blocks.upload_failed_note(failure)
        )


def _reply_private(
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    reply: dict,
    png: bytes,
    posted: Callable[[str, str], None],
) -> None:
    """Reply ephemerally (``posted(channel, message_ts)`` when ``chat.postEphemeral`` took
    it), then send the heatmap by DM."""
    channel, user = command["channel_id"], command["user_id"]
    text, reply_blocks = blocks.classify_reply(**reply, note=blocks.DM_HEATMAP_NOTE)
    try:
        message = client.chat_postEphemeral(
            channel=channel,
            user=user,
            thread_ts=command.get("thread_ts"),
            text=text,
            blocks=reply_blocks,
        )
        if message.get("message_ts"):
            posted(channel, str(message["message_ts"]))
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        respond(text=text, blocks=reply_blocks, response_type="ephemeral", replace_original=False)
    dm = client.conversations_open(users=user)["channel"]["id"]
    failure = upload_heatmap(
        client, channel=dm, thread_ts=None, png=png, explanation=reply["explanation"]
    )
    if failure:
        respond(text=blocks.upload_failed_note(failure), response_type="ephemeral")


def register(app: App, services: Services) -> None:
    """Add the slash command listeners to ``app``."""

    @app.command(CLASSIFY)
    def on_classify(
        ack: Ack,
        command: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        try:
            args = parse_classify(command.get("text", ""), services.settings.explain_method)
        except Exception:  # never fail before the ack
            log.exception("cannot parse /classify text [%s]", command_context(command))
            args = ClassifyArgs(help=True)
        if args.help:
            text, help_blocks = blocks.usage(args.error)
            ack(text=text, blocks=help_blocks)
            return
        ack()
        services.submit_after_ack(
            classify_job,
            services,
            client,
            respond,
            command,
            args,
            respond=respond,
            bolt_context=context,
            context=command_context(command),
        )
