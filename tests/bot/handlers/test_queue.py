"""``/heed-admin queue`` in-process against the fake Slack: labelers and admins see the
least-certain messages first, as plain text, with the trusted loop's controls; anyone else is
refused and audited; an answer from the list is recorded like any correction and leaves the
queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.blocks.feedback import (
    CONFIRM_ACTION,
    CORRECT_ACTION,
    NOT_A_LABELER,
    QUEUE_HEAD_BLOCK_ID,
    controls_id,
)
from bot.database import Database
from bot.database.queue import QueueOffer
from tests.bot.conftest import ADMIN
from tests.support.fakeslack import Call, FakeSlack

LABELER, STRANGER = "ULABEL", "USTRANGER"
SCORES = {"negative": 0.45, "neutral": 0.1, "positive": 0.45}


def seed(db: Database, text: str, uncertainty: float, task: str = "default") -> int:
    return db.predictions.record(
        text=text,
        label="negative",
        confidence=0.45,
        scores=SCORES,
        channel="C9",
        user="UAUTHOR",
        message_ts="9.9",
        source="autotag",
        task=task,
        queue=QueueOffer(uncertainty),
    )


def item_ids(answer: Call) -> list[int]:
    blocks = answer.params["blocks"]
    prefix = controls_id(0)[:-1]
    return [int(b["block_id"][len(prefix) :]) for b in blocks if b["type"] == "actions"]


def pick(fake: FakeSlack, answer: Call, pid: int, label: str, user: str = LABELER) -> str:
    [actions] = [b for b in answer.params["blocks"] if b.get("block_id") == controls_id(pid)]
    button, select = actions["elements"]
    assert (button["action_id"], select["action_id"]) == (CONFIRM_ACTION, CORRECT_ACTION)
    [option] = [o for o in select["options"] if o["text"]["text"] == label]
    return fake.send_block_action(
        CORRECT_ACTION,
        user_id=user,
        channel_id="C1",
        message_ts="7.7",  # the private list, ephemeral: Slack sends no message
        block_id=controls_id(pid),
        selected_option=option,
    )


def test_a_labeler_sees_the_least_certain_first_as_plain_text_with_controls(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}))
    sure = seed(app.db, "pretty sure about this one", 0.2)
    unsure = seed(app.db, "<@U1> said *refund* & <!channel>", 0.9)
    middle = seed(app.db, "maybe", 0.5)
    seed(app.db, "another task's message", 0.99, task="support")
    answer = app.admin("queue", user=LABELER)
    assert answer.params["response_type"] == "ephemeral"
    assert item_ids(answer) == [unsure, middle, sure]
    body = json.dumps(answer.params["blocks"])
    quoted = [
        b["text"] for b in answer.params["blocks"] if "1. " in b.get("text", {}).get("text", "")
    ]
    assert quoted == [  # shown as written, never as a mention or formatting
        {"type": "plain_text", "text": "1. <@U1> said *refund* & <!channel>", "emoji": False}
    ]
    assert "another task" not in body and "uncertainty 0.90" in body and "<#C9>" in body
    assert "Heed said *negative* (45.0% confidence)" in body
    assert answer.params["blocks"][0]["block_id"] == QUEUE_HEAD_BLOCK_ID
    [entry] = app.db.audit.recent(1)
    assert (entry.user, entry.action, entry.allowed) == (LABELER, "queue", True)
    assert app.admin("queue", user=ADMIN).params["blocks"] == answer.params["blocks"]


def test_anyone_else_is_refused_and_audited(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}))
    seed(app.db, "a secret message", 0.9)
    answer = app.admin("queue", user=STRANGER)
    assert answer.params["text"] == NOT_A_LABELER and "secret" not in json.dumps(answer.params)
    [entry] = app.db.audit.recent(1)
    assert (entry.user, entry.action, entry.allowed) == (STRANGER, "queue", False)
    assert "not in HEED_LABELERS" in entry.detail


def test_an_unknown_task_gets_the_usage_and_an_empty_queue_says_so(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}))
    assert "unknown task 'nope'" in app.admin("queue nope", user=LABELER).params["text"]
    assert "is empty" in app.admin("queue", user=LABELER).params["text"]


def test_an_answer_is_recorded_like_a_correction_and_leaves_the_queue(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}))
    first = seed(app.db, "is this spam", 0.9)
    second = seed(app.db, "or is this", 0.5)
    answer = app.admin("queue", user=LABELER)
    before = len(app.fake.calls("response_url"))
    pick(app.fake, answer, first, "neutral")
    refreshed = app.fake.wait_for(lambda: app.fake.calls("response_url")[before:], timeout=10)[0]
    assert refreshed.params["replace_original"] is True
    assert item_ids(refreshed) == [second]
    assert f"Recorded: neutral by <@{LABELER}> (correction)" in json.dumps(refreshed.params)
    [stored] = app.db.predictions.answers_for(first)
    assert (stored.user, stored.chosen_label, stored.role) == (LABELER, "neutral", "labeler")
    assert app.db.predictions.labelled_rows() == [("is this spam", "neutral")]
    assert app.db.queue.status(first) == "answered"
    entry = app.db.audit.recent(1)[0]
    assert (entry.action, entry.allowed) == ("label", True)

    before = len(app.fake.calls("response_url"))
    pick(app.fake, answer, first, "positive")  # a second click on the old list
    app.fake.wait_for(lambda: app.fake.calls("response_url")[before:], timeout=10)
    [stored] = app.db.predictions.answers_for(first)  # replaced, as in the trusted loop
    assert stored.chosen_label == "positive" and app.db.queue.status(first) == "answered"

    before = len(app.fake.calls("response_url"))
    pick(app.fake, answer, second, "neutral", user=STRANGER)  # a forged click: refused
    refusal = app.fake.wait_for(lambda: app.fake.calls("response_url")[before:], timeout=10)[0]
    assert refusal.params["text"].startswith(":no_entry:")
    assert app.db.predictions.answers_for(second) == [] and app.db.queue.status(second) == "open"


def shortcut(fake: FakeSlack, text: str, channel: str, name: str) -> None:
    """Click "Classify with Heed" (as U7) on U2's message in ``channel``."""
    fake.send_interactive(
        {
            "type": "message_action",
            "callback_id": "heed_classify_message",
            "trigger_id": "1.T1.trigger",
            "user": {"id": "U7", "username": "u7"},
            "channel": {"id": channel, "name": name},
            "message": {"type": "message", "user": "U2", "ts": "3.3", "text": text},
            "response_url": f"{fake.base_url}/response/shortcut",
        }
    )


def test_classify_offers_to_the_queue_only_from_a_public_channel(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}))
    app.fake.set_channel("GSECRET", "secret", is_private=True)
    app.fake.set_channel("CGROUP", "mpdm-ana--bo-1", is_mpim=True)
    app.classify("asked in a channel")
    for n, (channel, name) in enumerate(
        [("DU1", "directmessage"), ("GSECRET", "secret"), ("CGROUP", "mpdm-ana--bo-1")]
    ):  # conversations.info says the private channel is private; the payload names the others
        app.fake.send_slash_command(
            "/classify", f"asked in private {n}", user_id=f"U{n + 2}", channel_id=channel
        )
        shortcut(app.fake, f"shortcut in private {n}", channel, name)
    app.fake.wait_for(lambda: app.db.predictions.get(7) is not None, timeout=10)
    assert [i.prediction.text for i in app.db.queue.top("default", 9)] == ["asked in a channel"]
    assert app.db.queue.top("default", 5)[0].uncertainty == pytest.approx(0.15)  # margin
    listed = json.dumps(app.admin("queue", user=LABELER).params["blocks"])
    assert "asked in a channel" in listed and "private" not in listed
