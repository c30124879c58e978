"""``build_app``: the Bolt app with its Web API client and every Heed listener."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.context import format_context, request_context
from bot.services import Services
from bot.slack_api.client import make_client

log = logging.getLogger(__name__)


def build_app(services: Services, *, client: WebClient | None = None) -> App:
    """Create the Bolt app (this calls ``auth.test``) with every Heed listener registered."""
    settings = services.settings
    app = App(
        client=client or make_client(settings),
        signing_secret=settings.signing_secret or "",
        name="heed",
        # Bolt answers when the listener returns, which only parses, stores a message to tag
        # and hands off (then acks). False would ack an event *before* its listener ran: a
        # replica killed before storing the message lost it (2 to 9 of 100 in the SIGKILL run
        # of benchmarks/replicas_load.py).
        process_before_response=True,
        # HTTP mode verifies signatures on the raw bytes before parsing (bot.transports.guard);
        # Bolt's own check would come after parsing and log unsigned bodies.
        request_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        listener_executor=ThreadPoolExecutor(16, thread_name_prefix="bolt"),
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error(
            "unhandled listener error [%s]: %s",
            format_context(request_context(body or {})),
            error,
            exc_info=error,
        )

    listeners.register(app, services)
    return app
