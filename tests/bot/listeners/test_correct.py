"""The "Correct Heed's label" shortcut's listener: ack, then hand off with the installing
workspace."""

from __future__ import annotations

from unittest.mock import MagicMock

from slack_bolt.authorization import AuthorizeResult

from bot.handlers.correct import correct_job
from bot.listeners.correct import on_correct_shortcut
from tests.bot.listeners.fakes import Ack, RecordingServices, context_for


def test_the_shortcut_is_acked_then_handed_to_the_job() -> None:
    ack, services = Ack(), RecordingServices()
    client, respond = MagicMock(), MagicMock()
    shortcut = {"type": "message_action", "callback_id": "heed_correct_label"}
    authorized = AuthorizeResult(enterprise_id=None, team_id="T1", bot_user_id="UBOT")
    context = context_for(services, authorize_result=authorized)
    on_correct_shortcut(ack, shortcut, client, respond, context)
    assert ack.calls == [{}]
    [(fn, args, kw)] = services.handed_off
    assert fn is correct_job and args == (services, client, respond, shortcut, "T1")
    assert kw == {"respond": respond, "bolt_context": context, "body": shortcut}
    assert not client.method_calls  # no Web API call on the ack path
