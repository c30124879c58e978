"""Which messages count, and tagging a queued message: the label's reaction, a thread note
with the heatmap only above the threshold for notify labels, each at most once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.appeal import APPEAL_ACTION
from bot.blocks.classify import CAVEAT
from bot.blocks.feedback import FEEDBACK_BLOCK_ID
from bot.database.pending import PendingTag
from bot.handlers.autotag import is_taggable, tag_message, tag_request
from bot.setting_kinds import Thresholds
from bot.settings import Settings
from tests.bot.stubs import PNG, StubClassifier, services_for


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


def take(services: Any, thread_ts: str | None = None) -> PendingTag:
    """Queue the message ``C1/1.5`` as its listener would and take it as a worker would."""
    db = services.db
    db.pending.enqueue(
        ["event:Ev1"],
        channel="C1",
        message_ts="1.5",
        text="hello there",
        user="U1",
        thread_ts=thread_ts,
    )
    [tag] = db.pending.take("test", 1, timedelta(seconds=60))
    return tag


def run_tag(
    stub: StubClassifier,
    settings: Settings,
    client: MagicMock,
    tmp_path: Path,
    thread_ts: str | None = None,
) -> MagicMock:
    services = services_for(tmp_path, stub, config=settings)
    try:
        tag = take(services, thread_ts)
        request = tag_request(services, client, tag, services.settings.tasks.default)
        tag_message(request, tag, stub.prediction())
        services.db.pending.finish(tag.id)
        services.db.events.prune(timedelta(0))  # the next run queues the same message again
    finally:
        services.close()
    return client


@pytest.mark.parametrize(
    "label,confidence,notify",
    [("positive", 0.95, True), ("positive", 0.5, False), ("negative", 0.99, False)],
)
def test_tag_notes_only_above_threshold_for_notify_labels(
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
    client = run_tag(StubClassifier(), settings, MagicMock(), tmp_path, "1.0")
    client.reactions_add.assert_called_once_with(channel="C1", timestamp="1.5", name="+1")
    assert client.chat_postMessage.call_args.kwargs["thread_ts"] == "1.0"
    assert client.files_upload_v2.call_args.kwargs["thread_ts"] == "1.0"


def test_tag_skips_unmapped_labels_and_survives_reaction_errors(tmp_path: Path) -> None:
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


def test_a_retaken_message_is_not_recorded_or_noted_twice(tmp_path: Path) -> None:
    settings = Settings(bot_token="xoxb-x", app_token="xapp-x", autotag_notify=frozenset({"*"}))
    stub = StubClassifier()
    services = services_for(tmp_path, stub, config=settings)
    client = MagicMock()
    client.reactions_add.side_effect = [None, SlackApiError("x", {"error": "already_reacted"})]
    try:
        tag = take(services)
        request = tag_request(services, client, tag, services.settings.tasks.default)
        tag_message(request, tag, stub.prediction())  # the worker dies before finishing it
        with services.db.write() as conn:  # its lease lapses
            conn.exec_driver_sql("UPDATE pending_tags SET lease_expires = NULL")
        [again] = services.db.pending.take("other", 1, timedelta(seconds=60))
        assert again.noted and again.attempts == 2
        tag_message(tag_request(services, client, again, request.task), again, stub.prediction())
        recorded = services.db.pending.recorded("C1", "1.5")
        assert recorded is not None
        assert services.db.predictions.get(recorded).user == "U1"
        with services.db.read() as conn:
            rows = conn.exec_driver_sql("SELECT COUNT(*) FROM predictions").scalar()
    finally:
        services.close()
    assert rows == 1
    assert client.reactions_add.call_count == 2  # Slack refused the second: one reaction
    assert client.chat_postMessage.call_count == 1
