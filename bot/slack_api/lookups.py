"""Web API look-ups the access checks need, with Slack errors as short ``RuntimeError``s."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack_api.errors import api_error


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
