"""``/heed-admin SUBCOMMAND [ARGS]``: parse, ack, hand off to :func:`bot.handlers.admin.admin_job`
(which checks who asks, audits the attempt and runs the subcommand); the retrain preview's
Start / Cancel buttons likewise to :func:`bot.handlers.admin.retrain_button_job`."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.preview import CANCEL_ACTION, START_ACTION
from bot.handlers.admin import admin_job, retrain_button_job
from bot.listeners.handoff import ack_and_hand_off, hand_off_action, installing_team
from bot.services import services_of

ADMIN = "/heed-admin"
ACTION_CHARS = 40
RETRAIN_BUTTONS = re.compile(f"^({re.escape(START_ACTION)}|{re.escape(CANCEL_ACTION)})$")


def parse_admin(text: str | None) -> tuple[str, str]:
    """``" Retrain  now"`` -> ``("retrain", "now")``; empty text is ``help``. The subcommand
    is lower-cased and cut to :data:`ACTION_CHARS` characters (it goes into the audit log)."""
    words = (text or "").strip().split(None, 1)
    if not words:
        return "help", ""
    action = words[0].lower()[:ACTION_CHARS]
    if action in ("-h", "--help"):
        action = "help"
    return action, words[1].strip() if len(words) > 1 else ""


def on_admin(
    ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    """Hand off (with the installing workspace, for ``queue``'s label check), then ack."""
    services = services_of(context)
    action, rest = parse_admin(command.get("text"))
    ack_and_hand_off(
        ack,
        admin_job,
        services,
        client,
        respond,
        command,
        action,
        rest,
        installing_team(context),
        respond=respond,
        context=context,
        body=command,
    )


def on_retrain_button(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    respond: Respond,
    context: BoltContext,
) -> None:
    """The retrain preview's Start / Cancel: hand off (with the installing workspace, from
    ``auth.test``), then ack."""
    hand_off_action(ack, retrain_button_job, body, action, client, respond, context)
