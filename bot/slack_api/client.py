"""The Web API client Heed talks to Slack with: bot token, base URL and retry handlers."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.settings import Settings

API_TIMEOUT = 30


def make_client(settings: Settings) -> WebClient:
    """The Web API client: bot token, ``SLACK_API_URL`` and retry handlers (429s wait for
    ``Retry-After``, up to 3 times; connection errors are retried once)."""
    client = WebClient(
        token=settings.bot_token,
        base_url=settings.api_url or WebClient.BASE_URL,
        timeout=API_TIMEOUT,
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    if not any(isinstance(h, ConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(ConnectionErrorRetryHandler())
    return client
