"""Auto-tagging's listener: which messages count, once each, in configured channels only."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from bot.listeners.autotag import is_taggable, on_message
from bot.services import Services
from tests.bot.listeners.fakes import context_for
from tests.bot.stubs import StubClassifier, serving, settings


@pytest.mark.parametrize(
    "event,taggable",
    [
        ({"text": "hi"}, True),
        ({"text": "hi", "thread_ts": "1.0"}, True),
        ({"text": "hi", "subtype": "thread_broadcast"}, True),
        ({"text": "hi", "subtype": "me_message"}, True),
        ({"text": "hi", "subtype": "file_share"}, True),
        ({"text": "hi", "subtype": "message_changed"}, False),
        ({"text": "hi", "subtype": "message_deleted"}, False),
        ({"text": "hi", "subtype": "channel_join"}, False),
        ({"text": "hi", "subtype": "bot_message"}, False),
        ({"text": "hi", "bot_id": "B2"}, False),
        ({"text": "hi", "bot_profile": {"id": "B2"}}, False),
        ({"text": "hi", "user": "UBOT"}, False),
        ({"text": "hi", "user": None}, False),
        ({"text": "hi", "hidden": True}, False),
        ({"text": "hi", "type": "app_mention"}, False),
        ({"text": "hi", "ts": None}, False),
        ({"text": "  "}, False),
    ],
)
def test_is_taggable(event: dict[str, Any], taggable: bool) -> None:
    full = {"type": "message", "channel": "C1", "ts": "1.1", "user": "U1", **event}
    assert is_taggable(full, "UBOT", "BBOT") is taggable


def message(ts: str, channel: str = "C1", **kw: Any) -> dict[str, Any]:
    return {"type": "message", "channel": channel, "user": "U1", "ts": ts, "text": "hi", **kw}


def test_messages_are_tagged_once_in_configured_channels_only(tmp_path: Path) -> None:
    stub = StubClassifier(label="negative")
    services = Services(settings(autotag_channels=("C1", "#support")), serving(stub, tmp_path))
    client = MagicMock()
    client.conversations_info.return_value = {"channel": {"name": "random"}}
    context = context_for(services, bot_user_id="UBOT", bot_id="BBOT")
    try:
        on_message(message("1.1"), {"event_id": "Ev1"}, context, client)
        on_message(message("1.1"), {"event_id": "Ev1"}, context, client)  # redelivered
        on_message(message("1.1"), {"event_id": "Ev9"}, context, client)  # same message
        on_message(message("2.2", user="UBOT"), {"event_id": "Ev2"}, context, client)
        on_message(message("3.3", channel="C2"), {"event_id": "Ev3"}, context, client)
        on_message(message("4.4", text="\u200b\u2060"), {"event_id": "Ev4"}, context, client)
        services.jobs.wait_idle(5.0)  # the routing jobs have handed "hi" to the batcher
        services.batcher.close()  # the batch runs, its tag job is queued
    finally:
        services.close()
    client.reactions_add.assert_called_once_with(channel="C1", timestamp="1.1", name="-1")
    client.conversations_info.assert_called_once_with(channel="C2")  # name looked up once
    assert stub.predict_calls == [["hi"]]


def test_nothing_happens_when_no_channel_is_configured(tmp_path: Path) -> None:
    services = Services(settings(), serving(StubClassifier(), tmp_path))
    client = MagicMock()
    try:
        on_message(message("1.1"), {"event_id": "Ev1"}, context_for(services), client)
    finally:
        services.close()
    assert not client.method_calls and len(services.seen) == 0
