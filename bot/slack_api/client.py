"""The Web API client Heed talks to Slack with, and the look-ups the access checks make."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.settings import Settings
from bot.slack_api.errors import api_error


def make_client(settings: Settings) -> WebClient:
    """The Web API client: bot token, ``SLACK_API_URL``, 429s waiting for ``Retry-After`` up to
    3 times (slack_sdk's default handler already retries a connection error once)."""
    client = WebClient(
        token=settings.bot_token, base_url=settings.api_url or WebClient.BASE_URL, timeout=30
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def users_info(client: WebClient, user: str) -> dict[str, Any]:
    """``users.info``'s user object; a Slack error becomes a short ``RuntimeError``."""
    try:
        return client.users_info(user=user)["user"]
    except SlackApiError as exc:
        raise RuntimeError(api_error(exc) or "error") from None


def usergroup_members(client: WebClient, usergroup: str) -> list[str]:
    """The user ids in a user group; a Slack error becomes a short ``RuntimeError``."""
    try:
        return list(client.usergroups_users_list(usergroup=usergroup)["users"])
    except SlackApiError as exc:
        raise RuntimeError(api_error(exc) or "error") from None
