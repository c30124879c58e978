"""The /classify job: record, reply (public or private), remember where, upload the heatmap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import DM_HEATMAP_NOTE, NOT_IN_CHANNEL_NOTE
from bot.blocks.feedback import CONFIRM_ACTION, FEEDBACK_BLOCK_ID
from bot.database import Database
from bot.handlers.classify import classify_job
from bot.services import Services
from tests.bot.stubs import PNG, VERSION, StubClassifier, serving, settings

COMMAND = {"command": "/classify", "channel_id": "C1", "user_id": "U1", "thread_ts": "0.5"}


def slack_error(error: str) -> SlackApiError:
    return SlackApiError(error, {"ok": False, "error": error})


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    made: list[Services] = []

    def make(*, db: Any = True, stub: StubClassifier | None = None, **kw: Any) -> Services:
        database = Database(tmp_path / "heed.sqlite3") if db is True else db
        holder = serving(stub or StubClassifier(), tmp_path)
        made.append(Services(settings(**kw), holder, db=database))
        return made[-1]

    yield make
    for s in made:
        s.close()


def client_posting(ts: str = "9.1") -> MagicMock:
    client = MagicMock()
    client.chat_postMessage.return_value = {"ok": True, "channel": "C1", "ts": ts}
    client.chat_postEphemeral.return_value = {"ok": True, "message_ts": ts}
    client.conversations_open.return_value = {"channel": {"id": "DU1"}}
    return client


def controls(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b.get("block_id") == FEEDBACK_BLOCK_ID for e in b["elements"]]


def test_a_public_reply_is_recorded_with_its_controls_then_the_heatmap(services: Any) -> None:
    s = services()
    client, respond = client_posting(), MagicMock()
    classify_job(s, client, respond, COMMAND, "so good", "rollout")
    reply = client.chat_postMessage.call_args.kwargs
    assert (reply["channel"], reply["thread_ts"]) == ("C1", "0.5")
    assert reply["text"].startswith("positive (90.0% confidence, explained with rollout)")
    [confirm, _] = controls(reply["blocks"])
    assert confirm["action_id"] == CONFIRM_ACTION
    stored = s.db.predictions.get(int(confirm["value"]))
    assert (stored.text, stored.label, stored.model_version, stored.method) == (
        "so good",
        "positive",
        VERSION,
        "rollout",
    )
    assert (stored.channel, stored.user, stored.message_ts) == ("C1", "U1", "9.1")
    upload = client.files_upload_v2.call_args.kwargs
    assert (upload["channel"], upload["thread_ts"]) == ("C1", "0.5")
    assert upload["file"].startswith(PNG) and "rollout" in upload["title"]
    respond.assert_not_called()


def test_without_a_database_the_reply_has_no_controls(services: Any) -> None:
    s = services(db=None)
    client = client_posting()
    classify_job(s, client, MagicMock(), COMMAND, "so good", "attention")
    assert controls(client.chat_postMessage.call_args.kwargs["blocks"]) == []
    client.files_upload_v2.assert_called_once()


def test_a_failing_database_still_gets_a_reply_without_controls(services: Any) -> None:
    db = MagicMock()
    db.predictions.record.side_effect = RuntimeError("disk I/O error")
    s = services(db=db)
    client = client_posting()
    classify_job(s, client, MagicMock(), COMMAND, "so good", "attention")
    assert controls(client.chat_postMessage.call_args.kwargs["blocks"]) == []
    db.predictions.set_message.assert_not_called()


def test_not_a_member_replies_through_the_response_url(services: Any) -> None:
    s = services()
    client, respond = client_posting(), MagicMock()
    client.chat_postMessage.side_effect = slack_error("not_in_channel")
    classify_job(s, client, respond, COMMAND, "so good", "attention")
    answer = respond.call_args.kwargs
    assert answer["response_type"] == "in_channel" and answer["replace_original"] is False
    assert answer["blocks"][-2]["elements"][0]["text"] == NOT_IN_CHANNEL_NOTE
    assert controls(answer["blocks"])  # the controls still come with it
    client.files_upload_v2.assert_not_called()


def test_other_slack_errors_are_raised_for_the_apology(services: Any) -> None:
    s = services()
    client = client_posting()
    client.chat_postMessage.side_effect = slack_error("is_archived")
    with pytest.raises(SlackApiError):
        classify_job(s, client, MagicMock(), COMMAND, "so good", "attention")


def test_a_private_reply_is_ephemeral_and_the_heatmap_goes_by_dm(services: Any) -> None:
    s = services(private_replies=True)
    client, respond = client_posting("7.7"), MagicMock()
    client.files_upload_v2.side_effect = slack_error("file_uploads_disabled")
    classify_job(s, client, respond, COMMAND, "so good", "attention")
    reply = client.chat_postEphemeral.call_args.kwargs
    assert (reply["channel"], reply["user"], reply["thread_ts"]) == ("C1", "U1", "0.5")
    assert DM_HEATMAP_NOTE in str(reply["blocks"])
    [confirm, _] = controls(reply["blocks"])
    assert s.db.predictions.get(int(confirm["value"])).message_ts == "7.7"
    client.conversations_open.assert_called_once_with(users="U1")
    assert client.files_upload_v2.call_args.kwargs["channel"] == "DU1"
    client.chat_postMessage.assert_not_called()  # the failure note goes to the person only
    note = respond.call_args.kwargs
    assert note["text"].startswith(":warning: Heed couldn't upload the heatmap")
    assert note["response_type"] == "ephemeral"


def test_a_private_reply_outside_heeds_channels_uses_the_response_url(services: Any) -> None:
    s = services(private_replies=True)
    client, respond = client_posting(), MagicMock()
    client.chat_postEphemeral.side_effect = slack_error("channel_not_found")
    classify_job(s, client, respond, COMMAND, "so good", "attention")
    answer = respond.call_args_list[0].kwargs
    assert answer["response_type"] == "ephemeral" and "positive" in answer["text"]
    assert client.files_upload_v2.call_args.kwargs["channel"] == "DU1"


def test_a_method_the_architecture_cannot_give_is_said_privately(services: Any) -> None:
    s = services(stub=StubClassifier(unavailable=("attention", "rollout")))
    client, respond = client_posting(), MagicMock()
    classify_job(s, client, respond, COMMAND, "so good", "rollout")
    said = respond.call_args.kwargs
    assert said["response_type"] == "ephemeral"
    assert said["text"].startswith(":warning: Heed couldn't explain this: the rollout explanation")
    assert "FNetForSequenceClassification" in said["text"] and "use gradient" in said["text"]
    client.chat_postMessage.assert_not_called()
    client.files_upload_v2.assert_not_called()
