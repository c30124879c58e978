"""/heed-admin: parsing the subcommand, and the listener's ack and hand-off without an app."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from bot.handlers.admin import admin_job
from bot.listeners.admin import on_admin, parse_admin
from tests.bot.listeners.fakes import Ack, RecordingServices, context_for


@pytest.mark.parametrize(
    "text,parsed",
    [
        ("", ("help", "")),
        (None, ("help", "")),
        ("   ", ("help", "")),
        ("retrain", ("retrain", "")),
        ("  Status  ", ("status", "")),
        ("--help", ("help", "")),
        ("-h", ("help", "")),
        ("rollback now please", ("rollback", "now please")),
        ("x" * 80, ("x" * 40, "")),
    ],
)
def test_parse_admin(text: str | None, parsed: tuple[str, str]) -> None:
    assert parse_admin(text) == parsed


def test_the_command_is_acked_then_handed_to_the_job() -> None:
    ack, services = Ack(), RecordingServices()
    client, respond = MagicMock(), MagicMock()
    body = {"command": "/heed-admin", "text": " Retrain  now ", "user_id": "U1"}
    context = context_for(services)
    on_admin(ack, body, client, respond, context)
    assert ack.calls == [{}]
    [(fn, args, kw)] = services.handed_off
    home_team = None  # no auth.test result in this bare context
    assert fn is admin_job
    assert args == (services, client, respond, body, "retrain", "now", home_team)
    assert kw == {"respond": respond, "bolt_context": context, "body": body}
