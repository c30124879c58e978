"""The Web API client Heed talks to Slack with: bot token, base URL and retry handlers."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.settings import Settings


def make_client(settings: Settings) -> WebClient:
    """The Web API client: bot token, ``SLACK_API_URL``, 429s waiting for ``Retry-After`` up to
    3 times (slack_sdk's default handler already retries a connection error once)."""
    client = WebClient(
        token=settings.bot_token, base_url=settings.api_url or WebClient.BASE_URL, timeout=30
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client
