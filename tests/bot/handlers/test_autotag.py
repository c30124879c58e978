"""Which messages count, and the tag job: the label's reaction, and a thread note with the
heatmap only above the threshold for notify labels."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.appeal import APPEAL_ACTION
from bot.blocks.classify import CAVEAT
from bot.blocks.feedback import FEEDBACK_BLOCK_ID
from bot.handlers.autotag import is_taggable, tag_job
from bot.setting_kinds import Thresholds
from bot.settings import Settings
from classifier.types import Prediction
from tests.bot.stubs import PNG, StubClassifier, request_for, services_for


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
    assert is_taggable(full, "UBOT") is taggable


def done(prediction: Prediction) -> Future[Prediction]:
    future: Future[Prediction] = Future()
    future.set_result(prediction)
    return future


def run_tag(
    stub: StubClassifier,
    settings: Settings,
    client: MagicMock,
    tmp_path: Path,
    **event: str,
) -> MagicMock:
    services = services_for(tmp_path, stub, config=settings)
    message = {"channel": "C1", "ts": "1.5", "user": "U1", "text": "hello there", **event}
    body = {"type": "event_callback", "event": message}
    try:
        tag_job(request_for(services, body, client, text="hello there"), done(stub.prediction()))
    finally:
        services.close()
    return client


@pytest.mark.parametrize(
    "label,confidence,notify",
    [("positive", 0.95, True), ("positive", 0.5, False), ("negative", 0.99, False)],
)
def test_tag_job_notes_only_above_threshold_for_notify_labels(
    tmp_path: Path, label: str, confidence: float, notify: bool
) -> None:
    settings = Settings(
        bot_token="xoxb-x",
        app_token="xapp-x",
        autotag_threshold=Thresholds(0.9),
        autotag_notify=frozenset({"positive"}),
    )
    stub = StubClassifier(label=label, confidence=confidence)
    client = run_tag(stub, settings, MagicMock(), tmp_path)
    client.reactions_add.assert_called_once_with(
        channel="C1", timestamp="1.5", name=settings.tasks.default.emoji_for(label)
    )
    assert client.chat_postMessage.called is notify
    assert client.files_upload_v2.called is notify
    assert bool(stub.explained) is notify
    if notify:
        assert client.chat_postMessage.call_args.kwargs["thread_ts"] == "1.5"
        assert "*positive*" in client.chat_postMessage.call_args.kwargs["text"]
        blocks = client.chat_postMessage.call_args.kwargs["blocks"]
        assert blocks[1]["elements"][0]["text"] == CAVEAT
        assert blocks[-2]["block_id"] == FEEDBACK_BLOCK_ID  # the tag was recorded
        assert blocks[-1]["elements"][0]["action_id"] == APPEAL_ACTION  # its author may appeal
        assert client.files_upload_v2.call_args.kwargs["file"].startswith(PNG)
        assert client.files_upload_v2.call_args.kwargs["thread_ts"] == "1.5"


def test_a_reply_in_a_thread_gets_its_note_in_that_thread(tmp_path: Path) -> None:
    settings = Settings(bot_token="xoxb-x", app_token="xapp-x", autotag_notify=frozenset({"*"}))
    client = run_tag(StubClassifier(), settings, MagicMock(), tmp_path, thread_ts="1.0")
    client.reactions_add.assert_called_once_with(channel="C1", timestamp="1.5", name="+1")
    assert client.chat_postMessage.call_args.kwargs["thread_ts"] == "1.0"
    assert client.files_upload_v2.call_args.kwargs["thread_ts"] == "1.0"


def test_tag_job_skips_unmapped_labels_and_survives_reaction_errors(tmp_path: Path) -> None:
    settings = Settings(bot_token="xoxb-x", app_token="xapp-x", label_emoji={"positive": "+1"})
    client = run_tag(StubClassifier(label="neutral"), settings, MagicMock(), tmp_path)
    client.reactions_add.assert_not_called()
    for error in ("already_reacted", "invalid_name"):
        client = MagicMock()
        client.reactions_add.side_effect = SlackApiError("x", {"ok": False, "error": error})
        run_tag(StubClassifier(label="positive"), settings, client, tmp_path)
        client.reactions_add.assert_called_once()
        client.chat_postMessage.assert_not_called()


def test_a_failed_heatmap_upload_is_said_in_the_thread(tmp_path: Path) -> None:
    settings = Settings(bot_token="xoxb-x", app_token="xapp-x", autotag_notify=frozenset({"*"}))
    client = MagicMock()
    client.files_upload_v2.side_effect = SlackApiError(
        "x", {"ok": False, "error": "not_in_channel"}
    )
    run_tag(StubClassifier(), settings, client, tmp_path)
    note, failed = (c.kwargs for c in client.chat_postMessage.call_args_list)
    assert "Heed tagged this" in note["text"]
    assert failed["thread_ts"] == "1.5" and failed["channel"] == "C1"
    assert failed["text"].startswith(":warning: Heed couldn't upload the heatmap: not_in_channel")


def test_a_method_the_model_cannot_give_falls_back_to_gradient(tmp_path: Path) -> None:
    settings = Settings(
        bot_token="xoxb-x",
        app_token="xapp-x",
        autotag_notify=frozenset({"*"}),
        explain_method="rollout",
    )
    stub = StubClassifier(unavailable=("attention", "rollout"))
    client = run_tag(stub, settings, MagicMock(), tmp_path)
    assert stub.explained == [("hello there", "gradient")]
    assert "gradient" in client.files_upload_v2.call_args.kwargs["title"]


def test_a_flagged_tag_goes_to_the_review_channel_and_the_thread_note_can_be_off(
    tmp_path: Path,
) -> None:
    settings = Settings(
        bot_token="xoxb-x",
        app_token="xapp-x",
        autotag_notify=frozenset({"*"}),
        review_channel="C0REVIEW",
        thread_note=False,
    )
    client = MagicMock()
    client.chat_getPermalink.return_value = {"permalink": "https://x/p15"}
    client.chat_postMessage.return_value = {"channel": "C0REVIEW", "ts": "9.9"}
    run_tag(StubClassifier(confidence=0.95), settings, client, tmp_path)
    client.reactions_add.assert_called_once_with(channel="C1", timestamp="1.5", name="+1")
    [post] = [c.kwargs for c in client.chat_postMessage.call_args_list]
    assert post["channel"] == "C0REVIEW" and "thread_ts" not in post  # no note in C1
    assert "confidence 0.95 ≥ threshold 0.80" in post["blocks"][0]["text"]["text"]
    assert "<https://x/p15|a message>" in post["blocks"][0]["text"]["text"]
    upload = client.files_upload_v2.call_args.kwargs
    assert (upload["channel"], upload["thread_ts"]) == ("C0REVIEW", "9.9")


def test_below_abstain_below_nothing_is_tagged_nor_noted(tmp_path: Path) -> None:
    settings = Settings(
        bot_token="xoxb-x", app_token="xapp-x", autotag_notify=frozenset({"*"}), abstain_below=0.5
    )
    client = run_tag(StubClassifier(confidence=0.45), settings, MagicMock(), tmp_path)
    client.reactions_add.assert_not_called()
    client.chat_postMessage.assert_not_called()
