"""The feedback buttons' listener: ack, then hand the click to its job."""

from __future__ import annotations

from unittest.mock import MagicMock

from slack_bolt.authorization import AuthorizeResult

from bot.blocks.feedback import CONFIRM_ACTION, CORRECT_ACTION
from bot.handlers.feedback import feedback_job
from bot.listeners.feedback import FEEDBACK_ACTIONS, on_feedback
from tests.bot.listeners.fakes import Ack, RecordingServices, context_for


def test_both_controls_and_nothing_else_are_listened_to() -> None:
    assert FEEDBACK_ACTIONS.match(CONFIRM_ACTION) and FEEDBACK_ACTIONS.match(CORRECT_ACTION)
    assert not FEEDBACK_ACTIONS.match(CONFIRM_ACTION + "_x")
    assert not FEEDBACK_ACTIONS.match("heed_feedback")


def test_a_click_is_acked_then_handed_to_the_job() -> None:
    ack, services = Ack(), RecordingServices()
    client, respond = MagicMock(), MagicMock()
    action = {"action_id": CONFIRM_ACTION, "value": "7"}
    body = {"type": "block_actions", "user": {"id": "U2"}, "actions": [action]}
    authorized = AuthorizeResult(enterprise_id=None, team_id="T1", bot_user_id="UBOT")
    context = context_for(services, authorize_result=authorized)
    on_feedback(ack, body, action, client, respond, context)
    assert ack.calls == [{}]
    [(fn, args, kw)] = services.handed_off
    assert fn is feedback_job and args == (services, client, respond, body, action, "T1")
    assert kw == {"respond": respond, "bolt_context": context, "body": body}
    on_feedback(ack, body, action, client, respond, context_for(services))
    assert services.handed_off[-1][1][-1] is None  # no auth.test answer: nobody may label
