"""Every Slack request Heed answers, in one table (:data:`LISTENERS`): what Bolt matches, the ack
step on Bolt's thread (no Slack or database call) and the job that runs after the ack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.common import BUSY_NOTE
from bot.context import format_context, request_context
from bot.handlers.admin import ADMIN, RETRAIN_BUTTONS, accept_admin, admin_job, retrain_button_job
from bot.handlers.autotag import accept_message, count_dropped, route_job
from bot.handlers.classify import (
    CLASSIFY,
    CLASSIFY_MESSAGE,
    accept_classify,
    accept_shortcut,
    classify_job,
    shortcut_job,
)
from bot.handlers.feedback import CORRECT_LABEL, FEEDBACK_ACTIONS, correct_job, feedback_job
from bot.handlers.home import accept_home, publish_home
from bot.handlers.suspects import SUSPECT_BUTTONS, suspect_button_job
from bot.jobpool import Busy
from bot.ops.metrics import request_kind
from bot.services import Accept, Answer, Job, Request, Services
from bot.transports.ack import ACK_SENT, RECEIVED_AT

log = logging.getLogger(__name__)


def hand_on(request: Request) -> Request:
    """The ack step of a request that needs no parsing."""
    return request


@dataclass(frozen=True)
class Listener:
    """One row, bound by ``getattr(app, kind)(matcher)`` (a command, action, event or shortcut)."""

    kind: str
    matcher: Any
    job: Job
    accept: Accept = hand_on
    on_busy: Callable[[Services], None] | None = None
    """Counts a request dropped because the job queue is full (beyond the busy metric)."""


def _message_action(callback_id: str) -> dict[str, str]:
    return {"type": "message_action", "callback_id": callback_id}


LISTENERS = (
    Listener("command", CLASSIFY, classify_job, accept_classify),
    Listener("command", ADMIN, admin_job, accept_admin),
    Listener("action", FEEDBACK_ACTIONS, feedback_job),
    Listener("action", RETRAIN_BUTTONS, retrain_button_job),
    Listener("action", SUSPECT_BUTTONS, suspect_button_job),
    Listener("event", "message", route_job, accept_message, on_busy=count_dropped),
    Listener("event", "app_home_opened", publish_home, accept_home),
    Listener("shortcut", _message_action(CLASSIFY_MESSAGE), shortcut_job, accept_shortcut),
    Listener("shortcut", _message_action(CORRECT_LABEL), correct_job),
)


def build_request(
    services: Services,
    body: Mapping[str, Any],
    client: WebClient,
    respond: Respond | None = None,
    context: Mapping[str, Any] | None = None,
) -> Request:
    """The request every ack step and job sees (the default task until an ack step picks one)."""
    where = request_context(body)
    context = context or {}
    authorized = getattr(context, "authorize_result", None)
    return Request(
        services,
        client,
        body,
        services.settings.tasks.default,
        respond=respond,
        user=where["user"] or "",
        channel=where["channel"] or "",
        team=authorized.team_id if authorized is not None else None,
        bot_user=authorized.bot_user_id if authorized is not None else None,
        ack_sent=context.get(ACK_SENT),
        received_at=context.get(RECEIVED_AT),
    )


def ack_and_hand_on(row: Listener, request: Request, ack: Callable[..., Any]) -> None:
    """Run ``row``'s ack step; queue its job, then ack (``busy`` for a command whose job the
    full queue refused), or ack with the step's answer."""
    services = request.services
    try:
        accepted = row.accept(request)
    except Exception:  # never fail before the ack
        log.exception("cannot parse a request [%s]", format_context(request.context))
        accepted = Answer()
    if isinstance(accepted, Answer):
        ack(**{k: v for k, v in vars(accepted).items() if v is not None})
        return
    try:
        services.submit(row.job, accepted)
    except Busy:  # a command is told; other requests can carry no text in their ack
        if row.on_busy is not None:
            row.on_busy(services)
        if request.is_command:
            ack(text=BUSY_NOTE)
            return
    ack()


def register(app: App, services: Services) -> None:
    """Bind every row of :data:`LISTENERS` to ``app``, and count each request by kind."""

    @app.middleware
    def count(body: dict[str, Any], next: Callable[[], None]) -> None:
        services.metrics.requests.labels(request_kind(body)).inc()
        next()

    for row in LISTENERS:
        getattr(app, row.kind)(row.matcher)(_callback(row, services))


def _callback(row: Listener, services: Services) -> Callable[..., None]:
    def listener(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond | None,
        context: BoltContext,
    ) -> None:
        ack_and_hand_on(row, build_request(services, body, client, respond, context), ack)

    listener.__name__ = f"on_{row.job.__name__}"
    return listener
