"""Slack Web API failures: which errors mean what, and a short secret-free description."""

from __future__ import annotations

from urllib.error import HTTPError

from slack_sdk.errors import SlackApiError, SlackRequestError

UPLOAD_ERRORS = (SlackApiError, SlackRequestError, OSError)
"""What ``files_upload_v2`` raises (``URLError``, ``HTTPError`` and timeouts are OSErrors)."""
NOT_MEMBER_ERRORS = frozenset({"not_in_channel", "channel_not_found"})


def api_error(exc: BaseException) -> str | None:
    """The ``error`` code of a :class:`SlackApiError` (e.g. ``not_in_channel``), else None."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "") or None
    return None


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description of a Slack/HTTP failure for a user-facing note."""
    if code := api_error(exc):
        return code
    if isinstance(exc, HTTPError):
        return f"HTTP {exc.code} from the upload server"
    if isinstance(exc, SlackRequestError):
        return "the upload server refused the file"
    return type(exc).__name__
