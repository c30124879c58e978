"""The message shortcut's listener: ack at once, hand the payload to the job."""

from __future__ import annotations

from unittest.mock import MagicMock

from bot.handlers.shortcut import shortcut_job
from bot.listeners.shortcut import CLASSIFY_MESSAGE, on_message_shortcut
from tests.bot.listeners.fakes import Ack, RecordingServices, context_for


def test_the_shortcut_is_acked_empty_and_handed_to_the_job() -> None:
    ack, services = Ack(), RecordingServices()
    client, respond = MagicMock(), MagicMock()
    body = {"type": "message_action", "callback_id": CLASSIFY_MESSAGE, "message": {"text": "x"}}
    context = context_for(services)
    on_message_shortcut(ack, body, client, respond, context)
    assert ack.calls == [{}]
    [(fn, args, kw)] = services.handed_off
    assert fn is shortcut_job and args == (services, client, respond, body)
    assert kw == {"respond": respond, "bolt_context": context, "body": body}
    client.assert_not_called()
