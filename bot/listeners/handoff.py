"""The one way a listener hands work on: queue the job, then ack. When the job queue is full
(:class:`~bot.jobpool.Busy`) a slash command's ack says so politely; other interactions can
carry no text in their ack, so the refusal is logged and counted only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.common import BUSY_NOTE, slow_down_note
from bot.jobpool import Busy
from bot.services import services_of


def ack_and_hand_off(
    ack: Ack,
    job: Callable[..., Any],
    *args: Any,
    respond: Respond,
    context: BoltContext,
    body: dict[str, Any],
) -> None:
    """Queue ``job(*args)`` to run once the ack is out, and ack (with :data:`BUSY_NOTE` for
    a slash command when the queue is full)."""
    services = services_of(context)
    try:
        services.submit_after_ack(job, *args, respond=respond, bolt_context=context, body=body)
    except Busy:
        if body.get("command"):
            ack(text=BUSY_NOTE)
        else:
            ack()
        return
    ack()


def hand_off_action(
    ack: Ack,
    job: Callable[..., Any],
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    respond: Respond,
    context: BoltContext,
) -> None:
    """A button or menu: queue ``job(services, client, respond, body, action, installing
    team)`` (see :func:`ack_and_hand_off`), then ack."""
    ack_and_hand_off(
        ack,
        job,
        services_of(context),
        client,
        respond,
        body,
        action,
        installing_team(context),
        respond=respond,
        context=context,
        body=body,
    )


def installing_team(context: BoltContext) -> str | None:
    """The workspace that installed Heed (from ``auth.test``), for the label checks."""
    authorized = context.authorize_result
    return authorized.team_id if authorized is not None else None


def over_rate_limit(ack: Ack, context: BoltContext, user: str | None, command: bool) -> bool:
    """True (and the request acked, a command's with a note) when ``user`` must slow down."""
    wait = services_of(context).rate_limited(user)
    if wait <= 0:
        return False
    if command:
        ack(text=slow_down_note(wait))
    else:
        ack()
    return True
