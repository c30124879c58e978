"""Posting helpers shared by the listeners: heatmap uploads and short error descriptions."""

from __future__ import annotations

import logging
from urllib.error import HTTPError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.blocks import heatmap_comment, heatmap_title
from classifier.types import Explanation

log = logging.getLogger(__name__)

HEATMAP_FILENAME = "heed-heatmap.png"
UPLOAD_ERRORS = (SlackApiError, SlackRequestError, OSError)
"""What ``files_upload_v2`` raises when Slack refuses the file or the upload URL fails
(``urllib.error.URLError``/``HTTPError`` and socket timeouts are ``OSError``s)."""
NOT_MEMBER_ERRORS = frozenset({"not_in_channel", "channel_not_found"})


def api_error(exc: BaseException) -> str | None:
    """The ``error`` code of a :class:`SlackApiError` (e.g. ``not_in_channel``), else None."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "") or None
    return None


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description of a Slack/HTTP failure for a user-facing note."""
    code = api_error(exc)
    if code:
        return code
    if isinstance(exc, HTTPError):
        return f"HTTP {exc.code} from the upload server"
    if isinstance(exc, SlackRequestError):
        return "the upload server refused the file"
    return type(exc).__name__


def upload_heatmap(
    client: WebClient,
    *,
    channel: str,
    thread_ts: str | None,
    png: bytes,
    explanation: Explanation,
) -> str | None:
    """Upload ``png`` with ``files_upload_v2`` into ``channel`` (and thread); None on success,
    else a short reason (the failure is logged, never raised)."""
    try:
        client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file=png,
            filename=HEATMAP_FILENAME,
            title=heatmap_title(explanation),
            initial_comment=heatmap_comment(explanation),
        )
    except UPLOAD_ERRORS as exc:
        reason = describe_error(exc)
        log.warning("heatmap upload to %s failed: %s", channel, reason)
        return reason
    return None
