"""The "Classify with Heed" message shortcut: a private answer where the message is (a DM
where Heed is not a member), the heatmap by DM, recorded with its feedback controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import CAVEAT, DM_HEATMAP_NOTE, NO_TEXT_NOTE
from bot.blocks.feedback import FEEDBACK_BLOCK_ID
from bot.handlers.classify import shortcut_job
from bot.services import Services
from tests.bot.stubs import PNG, VERSION, StubClassifier, request_for, services_for


def payload(text: str = "so &lt;b&gt; good", **message: str) -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": "heed_classify_message",
        "user": {"id": "U7", "username": "mod"},
        "channel": {"id": "C1", "name": "support"},
        "message": {"type": "message", "user": "U2", "ts": "5.5", "text": text, **message},
        "response_url": "https://hooks.example/response",
    }


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    made: list[Services] = []

    def make(stub: StubClassifier | None = None, **kw: Any) -> Services:
        made.append(services_for(tmp_path, stub, **kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def client() -> MagicMock:
    slack = MagicMock()
    slack.chat_postEphemeral.return_value = {"ok": True, "message_ts": "6.1"}
    slack.chat_postMessage.return_value = {"ok": True, "channel": "DU7", "ts": "7.1"}
    slack.conversations_open.return_value = {"channel": {"id": "DU7"}}
    return slack


def test_the_clicking_user_gets_a_private_reply_and_the_heatmap_by_dm(services: Any) -> None:
    s, slack, respond = services(explain_method="rollout"), client(), MagicMock()
    shortcut_job(request_for(s, payload(thread_ts="5.0"), slack, respond))
    reply = slack.chat_postEphemeral.call_args.kwargs
    assert (reply["channel"], reply["user"], reply["thread_ts"]) == ("C1", "U7", "5.0")
    assert reply["text"].startswith("positive (90.0% confidence, explained with rollout)")
    body = str(reply["blocks"])
    assert "so &lt;b&gt; good" in body and DM_HEATMAP_NOTE in body and CAVEAT in body
    [controls] = [b for b in reply["blocks"] if b.get("block_id") == FEEDBACK_BLOCK_ID]
    stored = s.db.predictions.get(int(controls["elements"][0]["value"]))
    assert (stored.text, stored.label, stored.model_version) == ("so <b> good", "positive", VERSION)
    assert (stored.channel, stored.user, stored.message_ts) == ("C1", "U7", "6.1")
    slack.conversations_open.assert_called_once_with(users="U7")
    upload = slack.files_upload_v2.call_args.kwargs
    assert upload["channel"] == "DU7" and upload["file"].startswith(PNG)
    assert s.models.holder("default").get().explained == [("so <b> good", "rollout")]
    slack.chat_postMessage.assert_not_called()
    respond.assert_not_called()


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_where_heed_is_not_a_member_the_reply_goes_by_dm(services: Any, error: str) -> None:
    s, slack = services(), client()
    slack.chat_postEphemeral.side_effect = SlackApiError(error, {"ok": False, "error": error})
    shortcut_job(request_for(s, payload(), slack, MagicMock()))
    dm = slack.chat_postMessage.call_args.kwargs
    assert dm["channel"] == "DU7" and dm["text"].startswith("positive (90.0% confidence")
    assert DM_HEATMAP_NOTE not in str(dm["blocks"]) and CAVEAT in str(dm["blocks"])
    assert slack.files_upload_v2.call_args.kwargs["channel"] == "DU7"
    [prediction_id] = [
        int(b["elements"][0]["value"])
        for b in dm["blocks"]
        if b.get("block_id") == FEEDBACK_BLOCK_ID
    ]
    stored = s.db.predictions.get(prediction_id)
    assert (stored.channel, stored.message_ts) == ("DU7", "7.1")


def test_other_slack_errors_are_raised_for_the_apology(services: Any) -> None:
    s, slack = services(), client()
    slack.chat_postEphemeral.side_effect = SlackApiError("x", {"ok": False, "error": "fatal"})
    with pytest.raises(SlackApiError):
        shortcut_job(request_for(s, payload(), slack, MagicMock()))
    slack.chat_postMessage.assert_not_called()


def test_a_message_without_text_is_said_so(services: Any) -> None:
    s, slack, respond = services(), client(), MagicMock()
    shortcut_job(request_for(s, payload(text=" \u200b\u200d "), slack, respond))
    said = respond.call_args.kwargs
    assert (said["text"], said["response_type"]) == (NO_TEXT_NOTE, "ephemeral")
    assert not s.models.holder("default").get().explained and not slack.method_calls


def test_a_method_the_architecture_cannot_give_is_said_privately(services: Any) -> None:
    stub = StubClassifier(unavailable=("attention", "rollout"))
    s, slack, respond = services(stub, explain_method="attention"), client(), MagicMock()
    shortcut_job(request_for(s, payload(), slack, respond))
    said = respond.call_args.kwargs["text"]
    assert "the attention explanation needs attention weights" in said
    assert "FNetForSequenceClassification" in said and not slack.method_calls
