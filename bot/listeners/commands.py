"""``/classify`` (and the placeholder for ``/heed-admin``).

The listener acknowledges first — with the usage help when there is nothing to classify — and
hands the work to a job: explain (one eager pass, which also gives the prediction), render
the heatmap, post the Block Kit reply, upload the PNG with ``files_upload_v2``.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.replies import NOT_MEMBER_ERRORS, api_error, upload_heatmap
from bot.services import ACK_SENT, Services, format_context
from bot.text import slack_to_plain
from classifier import heatmap
from classifier.types import EXPLAIN_METHODS

log = logging.getLogger(__name__)

CLASSIFY = "/classify"
ADMIN = "/heed-admin"
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
    feedback = services.feedback_elements
    reply = {
        "explanation": explanation,
        "text": args.text,
        "user_id": command.get("user_id"),
        "max_tokens": classifier.max_length,
        "feedback": feedback(explanation, command) if feedback is not None else None,
    }
    if services.settings.private_replies:
        _reply_private(client, respond, command, reply, png)
    else:
        _reply_public(client, respond, command, reply, png)
    p = explanation.prediction
    log.info(
        "classified as %s (%.2f) with %s in %.0f ms [%s]",
        p.label,
        p.confidence,
        args.method,
        (time.monotonic() - started) * 1000,
        format_context(command_context(command)),
    )


def _reply_public(
    client: WebClient, respond: Respond, command: dict[str, Any], reply: dict, png: bytes
) -> None:
    channel, thread_ts = command["channel_id"], command.get("thread_ts")
    text, reply_blocks = blocks.classify_reply(**reply)
    try:
        client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=reply_blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        log.info("not a member of %s (%s): replying through response_url", channel, api_error(exc))
        text, reply_blocks = blocks.classify_reply(**reply, note=blocks.NOT_IN_CHANNEL_NOTE)
        respond(text=text, blocks=reply_blocks, response_type="in_channel", replace_original=False)
        return
    failure = upload_heatmap(
        client, channel=channel, thread_ts=thread_ts, png=png, explanation=reply["explanation"]
    )
    if failure:
        client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=blocks.upload_failed_note(failure)
        )


def _reply_private(
    client: WebClient, respond: Respond, command: dict[str, Any], reply: dict, png: bytes
) -> None:
    channel, user = command["channel_id"], command["user_id"]
    text, reply_blocks = blocks.classify_reply(**reply, note=blocks.DM_HEATMAP_NOTE)
    try:
        client.chat_postEphemeral(
            channel=channel,
            user=user,
            thread_ts=command.get("thread_ts"),
            text=text,
            blocks=reply_blocks,
        )
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

        def apologise(ref: str) -> None:
            respond(text=blocks.apology(ref), response_type="ephemeral", replace_original=False)

        services.submit(
            classify_job,
            services,
            client,
            respond,
            command,
            args,
            context=command_context(command),
            on_error=apologise,
            after=context.get(ACK_SENT),
        )

    @app.command(ADMIN)
    def on_admin(ack: Ack) -> None:
        version = services.holder.version or "none"
        ack(
            text=f"Heed is serving model `{version}`. The admin commands "
            "(retrain | status | rollback | export) are not available yet."
        )
