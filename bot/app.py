"""``build_app``: the Bolt app, its Web API client (with retries) and every listener."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.listeners import actions, admin, commands, home, messages
from bot.services import Services, format_context
from bot.serving import ModelHolder
from bot.settings import Settings

log = logging.getLogger(__name__)

LISTENER_THREADS = 16
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


def request_context(body: dict[str, Any]) -> dict[str, Any]:
    """Who/where of any Slack request body, for logs (never tokens)."""
    event = body.get("event") or {}
    channel = body.get("channel")
    user = body.get("user")
    return {
        "command": body.get("command"),
        "type": event.get("type") or body.get("type"),
        "channel": body.get("channel_id")
        or event.get("channel")
        or (channel.get("id") if isinstance(channel, dict) else channel),
        "user": body.get("user_id")
        or event.get("user")
        or (user.get("id") if isinstance(user, dict) else user),
    }


def build_app(
    settings: Settings,
    holder: ModelHolder,
    *,
    services: Services | None = None,
    client: WebClient | None = None,
) -> App:
    """Create the Bolt app (this calls ``auth.test``) with every Heed listener registered."""
    services = services or Services(settings, holder)
    app = App(
        client=client or make_client(settings),
        signing_secret=settings.signing_secret or "",
        name="heed",
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="bolt"),
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error(
            "unhandled listener error [%s]: %s",
            format_context(request_context(body or {})),
            error,
            exc_info=error,
        )

    commands.register(app, services)
    admin.register(app, services)
    actions.register(app, services)
    messages.register(app, services)
    home.register(app, services)
    return app
