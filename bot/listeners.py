"""Every Slack request Heed answers, in one table (:data:`LISTENERS`): what Bolt matches, the ack
step on Bolt's thread (no Slack call; a database write only to queue a message for its tag)
and the job that runs after the ack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.appeal import APPEAL_ACTION, APPEAL_VIEW
from bot.blocks.common import BUSY_NOTE
from bot.blocks.review import DISMISS_ACTION
from bot.blocks.why_not import WHY_NOT_ACTION
from bot.context import format_context, request_context
from bot.handlers.admin import (
    ADMIN,
    RETRAIN_BUTTONS,
    SHADOW_BUTTONS,
    accept_admin,
    admin_job,
    retrain_button_job,
    shadow_button_job,
)
from bot.handlers.appeal import APPEAL_LABEL, open_appeal_job, submit_appeal_job
from bot.handlers.autotag import NotQueued, queue_message
from bot.handlers.classify import (
    CLASSIFY,
    CLASSIFY_MESSAGE,
    accept_classify,
    accept_shortcut,
    classify_job,
    shortcut_job,
)
from bot.handlers.feedback import CORRECT_LABEL, FEEDBACK_ACTIONS, correct_job, feedback_job
from bot.handlers.forget import DELETED, accept_deleted, message_deleted_job
from bot.handlers.home import accept_home, publish_home
from bot.handlers.review import dismiss_job
from bot.handlers.suspects import SUSPECT_BUTTONS, suspect_button_job
from bot.handlers.why_not import accept_why_not, why_not_job
from bot.jobpool import Busy
from bot.ops.metrics import request_kind
from bot.services import Accept, Answer, Job, Request, Services
from bot.transports.ack import ACK_SENT, RECEIVED_AT
from bot.transports.workspace import workspace_middleware

log = logging.getLogger(__name__)


def hand_on(request: Request) -> Request:
    """The ack step of a request that needs no parsing."""
    return request


@dataclass(frozen=True)
class Listener:
    """One row, bound by ``getattr(app, kind)(matcher)`` (a command, action, event or shortcut)."""

    kind: str
    matcher: Any
    job: Job | None
    """None: the ack step does all the work (a message is queued in the database)."""
    accept: Accept = hand_on


def _message_action(callback_id: str) -> dict[str, str]:
    return {"type": "message_action", "callback_id": callback_id}


LISTENERS = (
    Listener("command", CLASSIFY, classify_job, accept_classify),
    Listener("command", ADMIN, admin_job, accept_admin),
    Listener("action", FEEDBACK_ACTIONS, feedback_job),
    Listener("action", RETRAIN_BUTTONS, retrain_button_job),
    Listener("action", SHADOW_BUTTONS, shadow_button_job),
    Listener("event", {"type": "message", "subtype": DELETED}, message_deleted_job, accept_deleted),
    Listener("action", DISMISS_ACTION, dismiss_job),
    Listener("action", WHY_NOT_ACTION, why_not_job, accept_why_not),
    Listener("action", SUSPECT_BUTTONS, suspect_button_job),
    Listener("event", "message", None, queue_message),
    Listener("event", "app_home_opened", publish_home, accept_home),
    Listener("shortcut", _message_action(CLASSIFY_MESSAGE), shortcut_job, accept_shortcut),
    Listener("shortcut", _message_action(CORRECT_LABEL), correct_job),
    Listener("action", APPEAL_ACTION, open_appeal_job),
    Listener("shortcut", _message_action(APPEAL_LABEL), open_appeal_job),
    Listener("view", APPEAL_VIEW, submit_appeal_job),
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
    full queue refused), or ack with the step's answer. A message that could not be queued
    is not acked (:class:`~bot.handlers.autotag.NotQueued`): Slack delivers it again."""
    services = request.services
    try:
        accepted = row.accept(request)
    except NotQueued:
        raise
    except Exception:  # never fail before the ack
        log.exception("cannot parse a request [%s]", format_context(request.context))
        accepted = Answer()
    if isinstance(accepted, Answer) or row.job is None:
        answer = accepted if isinstance(accepted, Answer) else Answer()
        ack(**{k: v for k, v in vars(answer).items() if v is not None})
        return
    try:
        services.submit(row.job, accepted)
    except Busy:  # a command is told; other requests can carry no text in their ack
        if request.is_command:
            ack(text=BUSY_NOTE)
            return
    ack()


def register(app: App, services: Services) -> None:
    """Bind every row of :data:`LISTENERS` to ``app``, count each request by kind, and refuse
    requests of other workspaces before any listener."""

    @app.middleware
    def count(body: dict[str, Any], next: Callable[[], None]) -> None:
        services.metrics.requests.labels(request_kind(body)).inc()
        next()

    app.middleware(workspace_middleware(services.metrics))

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

    listener.__name__ = f"on_{(row.job or row.accept).__name__}"
    return listener
