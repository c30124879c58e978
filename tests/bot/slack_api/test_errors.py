"""Slack Web API failures, described without secrets."""

from __future__ import annotations

from urllib.error import HTTPError

from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.slack_api.errors import NOT_MEMBER_ERRORS, UPLOAD_ERRORS, api_error, describe_error


def test_api_error_and_describe_error() -> None:
    refused = SlackApiError("token xoxb-1 refused", {"ok": False, "error": "not_in_channel"})
    assert api_error(refused) == "not_in_channel" and describe_error(refused) == "not_in_channel"
    assert api_error(SlackApiError("x", {"ok": False})) is None
    assert api_error(ValueError("x")) is None
    http = HTTPError("https://files.slack.com/upload?token=s3cr3t", 500, "boom", {}, None)
    assert describe_error(http) == "HTTP 500 from the upload server"
    assert describe_error(SlackRequestError("status: 202")) == "the upload server refused the file"
    assert describe_error(TimeoutError("timed out")) == "TimeoutError"
    assert {"not_in_channel", "channel_not_found"} == NOT_MEMBER_ERRORS
    assert all(isinstance(e, UPLOAD_ERRORS) for e in (refused, http, OSError()))
