"""The feedback job: which label a click chose, storing it, showing it on the reply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import DM_HEATMAP_NOTE
from bot.blocks.common import AUDIT_FAILED
from bot.blocks.feedback import (
    CONFIRM_ACTION,
    CORRECT_ACTION,
    FEEDBACK_BLOCK_ID,
    FEEDBACK_NOTE_BLOCK_ID,
    FEEDBACK_UNKNOWN,
    NOT_A_LABEL,
    NOT_SHOWN_HERE,
    not_permitted,
)
from bot.database import Prediction
from bot.handlers.feedback import chosen_label, feedback_job, rebuilt_reply
from bot.services import Services
from bot.tasks import Task, Tasks
from tests.bot.stubs import VERSION, request_for, services_for

SCORES = {"negative": 0.1, "neutral": 0.2, "positive": 0.7}


def prediction(**kw: object) -> Prediction:
    fields = {
        "id": 7,
        "created": datetime.now(UTC),
        "channel": "C1",
        "user": "U1",
        "text": "so good",
        "label": "positive",
        "confidence": 0.7,
        "scores": SCORES,
        "model_version": VERSION,
        "method": "rollout",
        "message_ts": None,
    }
    fields.update(kw)
    return Prediction(**fields)


@pytest.mark.parametrize(
    "action,label",
    [
        ({"action_id": CONFIRM_ACTION, "value": "7"}, "positive"),
        ({"action_id": CORRECT_ACTION, "selected_option": {"value": "7:neutral"}}, "neutral"),
        ({"action_id": CORRECT_ACTION, "selected_option": {"value": "7#0"}}, "negative"),
        ({"action_id": CORRECT_ACTION, "selected_option": {"value": "7#3"}}, None),
        ({"action_id": CORRECT_ACTION, "selected_option": {"value": "7:spam"}}, None),
        ({"action_id": CORRECT_ACTION, "selected_option": {"value": "7:"}}, None),
    ],
)
def test_chosen_label(action: dict, label: str | None) -> None:
    assert chosen_label(action, prediction()) == label


def test_a_stored_prediction_rebuilds_its_reply() -> None:
    text, blocks = rebuilt_reply(prediction(), private=True)
    assert text == f"positive (70.0% confidence, explained with rollout) · model {VERSION}"
    body = json.dumps(blocks)
    assert "so good" in body and "<@U1> asked" in body and DM_HEATMAP_NOTE in body
    assert blocks[-1]["block_id"] == FEEDBACK_BLOCK_ID
    assert blocks[-1]["elements"][0]["value"] == "7"
    bare = rebuilt_reply(prediction(scores={}, confidence=None, method=None), private=False)[1]
    assert DM_HEATMAP_NOTE not in json.dumps(bare) and "attention" in json.dumps(bare)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = services_for(tmp_path)
    yield s
    s.close()


def click(prediction_id: int, **body: Any) -> dict:
    """A click on a reply in C1 whose controls offered the clicked action's value."""
    action = {"action_id": CONFIRM_ACTION, "value": str(prediction_id)}
    action = {**(body.pop("actions", None) or [action])[0], "block_id": FEEDBACK_BLOCK_ID}
    reply = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*positive*"}},
        {"type": "actions", "block_id": FEEDBACK_BLOCK_ID, "elements": [shown(action)]},
    ]
    full = {
        "user": {"id": "U2", "username": "ana", "team_id": "T1"},
        "channel": {"id": "C1"},
        "container": {"message_ts": "5.5", "channel_id": "C1"},
        "message": {"ts": "5.5", "text": "positive", "blocks": reply},
        "actions": [action],
        **body,
    }
    return full


def shown(action: dict) -> dict:
    """The control that sends ``action``: a button with its value, or a menu with its option."""
    if "selected_option" in action:
        return {"action_id": action["action_id"], "options": [action["selected_option"]]}
    return {"action_id": action["action_id"], "value": action.get("value")}


def test_a_failed_chat_update_falls_back_to_the_response_url(services: Services) -> None:
    pid = services.db.predictions.record(text="so good", label="positive", scores=SCORES, user="U2")
    client, respond = MagicMock(), MagicMock()
    client.chat_update.side_effect = SlackApiError("x", {"ok": False, "error": "cant_update"})
    feedback_job(request_for(services, click(pid), client, respond, team="T1"))
    assert client.chat_update.call_args.kwargs["ts"] == "5.5"
    replaced = respond.call_args.kwargs
    assert replaced["replace_original"] is True
    assert [b.get("block_id") for b in replaced["blocks"]][-2:] == [
        FEEDBACK_NOTE_BLOCK_ID,
        FEEDBACK_BLOCK_ID,
    ]
    [answer] = services.db.predictions.answers_for(pid)
    assert (answer.user, answer.user_name, answer.chosen_label) == ("U2", "ana", "positive")


@pytest.mark.parametrize("value", ["999", "forged", ""])
def test_unknown_predictions_are_not_recorded(services: Services, value: str) -> None:
    client, respond = MagicMock(), MagicMock()
    body = click(1, actions=[{"action_id": CONFIRM_ACTION, "value": value}])
    feedback_job(request_for(services, body, client, respond))
    said = respond.call_args.kwargs
    assert (said["text"], said["response_type"]) == (FEEDBACK_UNKNOWN, "ephemeral")
    assert services.db.predictions.counts()["answers"] == 0 and not client.method_calls


def test_a_label_the_model_does_not_have_is_not_recorded(services: Services) -> None:
    pid = services.db.predictions.record(text="so good", label="positive", scores=SCORES)
    respond = MagicMock()
    action = {"action_id": CORRECT_ACTION, "selected_option": {"value": f"{pid}:spam"}}
    feedback_job(request_for(services, click(pid, actions=[action]), respond=respond))
    assert respond.call_args.kwargs["text"] == NOT_A_LABEL
    assert services.db.predictions.answers_for(pid) == []


def test_an_unwritable_audit_log_records_nothing(services: Services) -> None:
    pid = services.db.predictions.record(text="so good", label="positive", scores=SCORES, user="U2")
    respond = MagicMock()
    services.db.audit.record = MagicMock(side_effect=RuntimeError("disk full"))
    feedback_job(request_for(services, click(pid), MagicMock(), respond, team="T1"))
    assert respond.call_args.kwargs["text"] == AUDIT_FAILED
    assert services.db.predictions.answers_for(pid) == []


def test_an_unknown_installing_workspace_refuses_everyone(services: Services) -> None:
    pid = services.db.predictions.record(text="so good", label="positive", scores=SCORES, user="U2")
    respond = MagicMock()
    feedback_job(request_for(services, click(pid), MagicMock(), respond, team=None))
    assert respond.call_args.kwargs["text"] == not_permitted("classify")
    assert services.db.predictions.answers_for(pid) == []
    assert "installing workspace is unknown" in services.db.audit.recent()[0].detail


def test_a_value_the_clicked_message_did_not_offer_labels_nothing_and_shows_nothing(
    services: Services,
) -> None:
    mine = services.db.predictions.record(
        text="so good", label="positive", scores=SCORES, user="U2"
    )
    theirs = services.db.predictions.record(
        text="a secret", label="positive", scores=SCORES, user="U2", channel="GSECRET"
    )
    body = click(mine)
    body["actions"] = [{**body["actions"][0], "value": str(theirs)}]  # a doctored client
    menu = click(
        mine,
        actions=[{"action_id": CORRECT_ACTION, "selected_option": {"value": f"{mine}:neutral"}}],
    )
    menu["actions"] = [{**menu["actions"][0], "selected_option": {"value": f"{theirs}:neutral"}}]
    for forged in (body, menu):
        respond = MagicMock()
        feedback_job(request_for(services, forged, MagicMock(), respond, team="T1"))
        assert respond.call_args.kwargs["text"] == NOT_SHOWN_HERE
        assert "a secret" not in json.dumps([c.kwargs for c in respond.call_args_list])
    assert services.db.predictions.answers_for(theirs) == []
    assert [e.detail for e in services.db.audit.recent()] == [
        f"prediction {theirs}: not this message's"
    ] * 2


def test_an_ephemeral_reply_binds_its_controls_to_the_prediction_s_channel(
    services: Services,
) -> None:
    here = services.db.predictions.record(
        text="so good", label="positive", scores=SCORES, user="U2", channel="C1"
    )
    elsewhere = services.db.predictions.record(
        text="a secret", label="positive", scores=SCORES, user="U2", channel="GSECRET"
    )
    in_a_dm = services.db.predictions.record(
        text="mine", label="positive", scores=SCORES, user="U2", channel=None
    )
    for pid, user, recorded in (
        (elsewhere, "U9", False),
        (here, "U2", True),
        (in_a_dm, "U2", True),
    ):
        body = click(pid)
        del body["message"]
        body["user"] = {"id": user, "team_id": "T1"}
        body["container"] = {"message_ts": "5.5", "channel_id": "C1", "is_ephemeral": True}
        feedback_job(request_for(services, body, MagicMock(), MagicMock(), team="T1"))
        assert bool(services.db.predictions.answers_for(pid)) is recorded
        bound = not services.db.audit.recent(1)[0].detail.endswith("not this message's")
        assert bound is recorded


def test_a_tasks_own_labelers_alone_label_its_predictions(tmp_path: Path) -> None:
    root = tmp_path / "models"
    hr = Task("hr", root / "hr", labelers=frozenset({"UHR"}))
    tasks = Tasks({"default": Task("default", root), "hr": hr}, "default")
    s = services_for(tmp_path, labelers=frozenset({"U2"}), configured_tasks=tasks)
    try:
        theirs = s.db.predictions.record(text="my manager", label="positive", task="hr")
        ours = s.db.predictions.record(text="so good", label="positive")
        for pid, user in ((theirs, "U2"), (ours, "U2"), (theirs, "UHR")):
            body = click(pid, user={"id": user, "team_id": "T1"})
            feedback_job(request_for(s, body, MagicMock(), MagicMock(), team="T1"))
        assert [a.user for a in s.db.predictions.answers_for(theirs)] == ["UHR"]
        assert [a.user for a in s.db.predictions.answers_for(ours)] == ["U2"]
    finally:
        s.close()
