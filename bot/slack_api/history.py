"""Reading messages: a message's permalink, and a channel's history page by page within
Slack's rate limits (``conversations.history`` is Tier 3, about 50 calls a minute)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack_api.errors import api_error

log = logging.getLogger(__name__)

PAGE_SIZE = 200  # Slack's advice for conversations.history pages
PAGE_PAUSE = 1.2  # seconds between pages: 50 a minute, Tier 3's budget; 429s wait Retry-After


def permalink(client: WebClient, channel: str, ts: str) -> str | None:
    """The message's ``chat.getPermalink`` link, or None (logged) when Slack has none."""
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError as exc:
        log.info("no permalink for %s/%s: %s", channel, ts, api_error(exc))
        return None


def history(
    client: WebClient,
    channel: str,
    *,
    limit: int,
    oldest: float | None = None,
    pause: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[list[dict[str, Any]]]:
    """The channel's top-level messages, newest first, as pages of at most
    :data:`PAGE_SIZE`, up to ``limit`` in all (``oldest``: none before that Unix time); a
    ``pause`` (:data:`PAGE_PAUSE`) between pages, and a 429 waits ``Retry-After`` (the
    client's retry handler).
    Raises :class:`SlackApiError` (``not_in_channel``, ``missing_scope``…)."""
    cursor, read = None, 0
    while True:
        args: dict[str, Any] = {"channel": channel, "limit": min(PAGE_SIZE, limit - read)}
        if cursor:
            args["cursor"] = cursor
        if oldest is not None:
            args["oldest"] = f"{oldest:.6f}"
        response = client.conversations_history(**args)
        page = list(response.get("messages") or [])[: limit - read]
        read += len(page)
        if page:
            yield page
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if read >= limit or not cursor or not page:
            return
        sleep(PAGE_PAUSE if pause is None else pause)
