"""Upload a file into a conversation, or say why not: the one way Heed attaches a file."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import heatmap_comment, heatmap_title, upload_failed_note
from bot.slack_api.errors import UPLOAD_ERRORS, api_error, describe_error
from classifier.types import Explanation

log = logging.getLogger(__name__)

HEATMAP_FILENAME = "heed-heatmap.png"

Tell = Callable[[str], None]
"""Shows a one-line note to whoever should learn that an upload failed."""


def upload_or_say_why(
    client: WebClient,
    *,
    channel: str,
    thread_ts: str | None,
    content: bytes,
    filename: str,
    title: str,
    comment: str,
    what: str,
    tell: Tell | None = None,
) -> bool:
    """Upload ``content`` with ``files_upload_v2`` into ``channel`` (and thread); True on success.

    On failure the reason is logged and a short note naming ``what`` failed goes to ``tell``,
    or, without one, into the same channel and thread. Never raises for an upload failure;
    a failure to post the note itself is logged.
    """
    try:
        client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file=content,
            filename=filename,
            title=title,
            initial_comment=comment,
        )
        return True
    except UPLOAD_ERRORS as exc:
        reason = describe_error(exc)
    log.warning("%s upload to %s failed: %s", what, channel, reason)
    note = upload_failed_note(reason, what)
    try:
        if tell is not None:
            tell(note)
        else:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note)
    except SlackApiError as exc:
        log.warning("cannot say that the %s upload failed: %s", what, api_error(exc))
    return False


def upload_heatmap(
    client: WebClient,
    *,
    channel: str,
    thread_ts: str | None,
    png: bytes,
    explanation: Explanation,
    tell: Tell | None = None,
) -> bool:
    """:func:`upload_or_say_why` for an explanation's heatmap."""
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
