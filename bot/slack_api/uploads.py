"""Upload a file into a conversation, or say why not: the one way Heed attaches a file."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack_api.errors import NOT_MEMBER_ERRORS, UPLOAD_ERRORS, api_error, describe_error
from bot.slack_api.text import escape_and_shorten

log = logging.getLogger(__name__)

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
    """Upload ``content`` into ``channel`` (and thread); True on success. On failure a short
    note naming ``what`` goes to ``tell``, else to the same channel and thread; never raises."""
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
    invite = f" — invite Heed to this channel (`/invite @Heed`) to get the {what}"
    hint = invite if reason in NOT_MEMBER_ERRORS else ""
    note = f":warning: Heed couldn't upload the {what}: {escape_and_shorten(reason, 200)}{hint}"
    try:
        if tell is not None:
            tell(note)
        else:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note)
    except SlackApiError as exc:
        log.warning("cannot say that the %s upload failed: %s", what, api_error(exc))
    return False
