"""Thin Bolt listeners, one module per kind of request: parse, ack, hand off to a handler.

Each callback is a plain module-level function; it finds the bot's
:class:`~bot.services.Services` in the request context, where :func:`register` puts it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext

from bot.listeners.admin import ADMIN, RETRAIN_BUTTONS, on_admin, on_retrain_button
from bot.listeners.autotag import on_message
from bot.listeners.classify import CLASSIFY, on_classify
from bot.listeners.correct import CORRECT_LABEL, on_correct_shortcut
from bot.listeners.feedback import FEEDBACK_ACTIONS, on_feedback
from bot.listeners.home import on_home_opened
from bot.listeners.shortcut import CLASSIFY_MESSAGE, on_message_shortcut
from bot.ops.metrics import request_kind
from bot.services import SERVICES_KEY, Services


def register(app: App, services: Services) -> None:
    """Bind every Heed listener to ``app``, with ``services`` in each request's context."""

    @app.middleware
    def attach_services(
        context: BoltContext, body: dict[str, Any], next: Callable[[], None]
    ) -> None:
        context[SERVICES_KEY] = services
        services.metrics.requests.labels(request_kind(body)).inc()
        next()

    app.command(CLASSIFY)(on_classify)
    app.command(ADMIN)(on_admin)
    app.action(FEEDBACK_ACTIONS)(on_feedback)
    app.action(RETRAIN_BUTTONS)(on_retrain_button)
    app.event("message")(on_message)
    app.event("app_home_opened")(on_home_opened)
    app.shortcut({"type": "message_action", "callback_id": CLASSIFY_MESSAGE})(on_message_shortcut)
    app.shortcut({"type": "message_action", "callback_id": CORRECT_LABEL})(on_correct_shortcut)
