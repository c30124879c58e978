"""The listener table: each request is acked (with help, a refusal or nothing) and its job
runs after the ack with the request the ack step parsed; checked by what was acked and what
the job did, on real services with a recording Web client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult

from bot.blocks.classify import usage_text
from bot.blocks.common import BUSY_NOTE, slow_down_note
from bot.blocks.feedback import CONFIRM_ACTION, CORRECT_ACTION, FEEDBACK_BLOCK_ID, NOT_TAGGED
from bot.handlers.autotag import NotQueued
from bot.handlers.feedback import FEEDBACK_ACTIONS
from bot.listeners import LISTENERS, Listener, ack_and_hand_on, build_request
from bot.services import Services
from bot.tasks import Task, Tasks
from bot.transports.ack import ACK_SENT, RECEIVED_AT
from tests.bot.stubs import StubClassifier, services_for


class Ack:
    """Records each ``ack(...)``'s keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kw: Any) -> None:
        self.calls.append(kw)


def row(matcher: Any) -> Listener:
    [found] = [r for r in LISTENERS if r.matcher == matcher]
    return found


def slack() -> MagicMock:
    client = MagicMock()
    client.chat_postMessage.return_value = {"ok": True, "channel": "C1", "ts": "9.1"}
    client.chat_postEphemeral.return_value = {"ok": True, "message_ts": "9.2"}
    client.conversations_open.return_value = {"channel": {"id": "DU1"}}
    client.conversations_info.return_value = {"channel": {"name": "random"}}
    client.users_info.return_value = {"ok": True, "user": {"id": "U1"}}
    return client


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    made: list[Services] = []

    def build(stub: StubClassifier | None = None, **kw: Any) -> Services:
        made.append(services_for(tmp_path / str(len(made)), stub, **kw))
        return made[-1]

    yield build
    for s in made:
        s.close()


def send(
    services: Services,
    matcher: Any,
    body: dict[str, Any],
    client: MagicMock | None = None,
    respond: MagicMock | None = None,
    context: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], MagicMock, MagicMock]:
    """Dispatch ``body`` through its row as Bolt would; wait for the job; return the acks."""
    ack, client, respond = Ack(), client or slack(), respond or MagicMock()
    request = build_request(services, body, client, respond, context)
    ack_and_hand_on(row(matcher), request, ack)
    services.jobs.wait_idle(10.0)
    return ack.calls, client, respond


def command(name: str, text: str, **kw: str) -> dict[str, str]:
    return {
        "command": name,
        "text": text,
        "channel_id": "C1",
        "user_id": "U1",
        "team_id": "T1",
    } | kw


@pytest.mark.parametrize(
    "text", ["", "   ", "help", "-e rollout  ", "<|>", "\u200b\u200d\u2060", "-e gradient \ufeff"]
)
def test_nothing_to_classify_is_acked_with_the_usage_and_runs_nothing(make: Any, text: str) -> None:
    services = make()
    acks, client, _ = send(services, "/classify", command("/classify", text))
    [answer] = acks
    assert answer["text"] == usage_text("attn-grad-mix", ["default"])
    assert answer["blocks"][0]["text"]["text"] == answer["text"]
    assert not client.method_calls and services.db.predictions.get(1) is None


def test_a_bad_flag_is_acked_with_the_error_then_the_usage(make: Any) -> None:
    acks, client, _ = send(make(), "/classify", command("/classify", "-e shap hi"))
    assert acks[0]["text"].startswith(":warning: unknown explanation method 'shap'")
    assert not client.method_calls


def test_the_usage_names_the_configured_default_method(make: Any) -> None:
    acks, _, _ = send(make(explain_method="attention"), "/classify", command("/classify", ""))
    assert "Without it: `attention`, the default here." in acks[0]["text"]


def test_text_is_acked_empty_then_classified_with_the_task_method(make: Any) -> None:
    stub = StubClassifier()
    services = make(stub, explain_method="rollout")
    acks, client, _ = send(services, "/classify", command("/classify", "so &lt;b&gt; good"))
    assert acks == [{}]
    assert stub.explained == [("so <b> good", "rollout")]
    assert client.chat_postMessage.call_args.kwargs["channel"] == "C1"
    assert services.db.predictions.get(1).text == "so <b> good"


def test_the_job_waits_for_the_ack(make: Any) -> None:
    stub, sent = StubClassifier(), threading.Event()
    services = make(stub)
    ack, client = Ack(), slack()
    context = {ACK_SENT: sent, RECEIVED_AT: 0.0}
    request = build_request(services, command("/classify", "hi"), client, MagicMock(), context)
    ack_and_hand_on(row("/classify"), request, ack)
    assert ack.calls == [{}] and not client.method_calls and stub.explained == []
    sent.set()
    services.jobs.wait_idle(10.0)
    assert stub.explained and client.chat_postMessage.called


def test_a_full_job_queue_is_a_polite_busy_ack(make: Any) -> None:
    services = make(job_queue=4)
    gate = threading.Event()
    for _ in range(services.jobs.capacity):
        services.jobs.submit(gate.wait, 10)
    try:
        acks = send_without_waiting(services, command("/classify", "hello"))
        assert acks == [{"text": BUSY_NOTE}]
        assert services.metrics.busy.labels("queue_full")._value.get() == 1  # type: ignore[attr-defined]
    finally:
        gate.set()


def send_without_waiting(services: Services, body: dict[str, Any]) -> list[dict[str, Any]]:
    ack = Ack()
    ack_and_hand_on(row("/classify"), build_request(services, body, slack(), MagicMock()), ack)
    return ack.calls


def test_a_user_over_the_rate_limit_is_told_when_to_come_back(make: Any) -> None:
    stub = StubClassifier()
    services = make(stub, classify_per_minute=1)
    send(services, "/classify", command("/classify", "first"))
    acks, _, _ = send(services, "/classify", command("/classify", "second"))
    [answer] = acks
    assert answer["text"].startswith(slow_down_note(60)[:20]) and "s" in answer["text"]
    assert [text for text, _ in stub.explained] == ["first"]


def two_tasks() -> Tasks:
    moderation = Task("moderation", Path("m"), explain_method="rollout")
    support = Task("support", Path("s"), channels=("#support",), explain_method="gradient")
    return Tasks({"support": support, "moderation": moderation}, "moderation")


def test_unknown_task_is_acked_privately_with_the_tasks(make: Any) -> None:
    services = make(configured_tasks=two_tasks())
    acks, client, _ = send(services, "/classify", command("/classify", "--task billing hi"))
    [answer] = acks
    assert answer["text"].startswith(
        ":warning: unknown task 'billing': use one of moderation, support"
    )
    assert "`--task NAME`" in answer["text"] and not client.method_calls


def test_the_admin_command_is_acked_then_audited_and_answered(make: Any) -> None:
    services = make(admins=frozenset({"U1"}))
    home = _context(AuthorizeResult(enterprise_id=None, team_id="T1", bot_user_id="UBOT"))
    body = command("/heed-admin", " Versions  ")
    acks, _, respond = send(services, "/heed-admin", body, context=home)
    assert acks == [{}]
    [entry] = services.db.audit.recent()
    assert (entry.user, entry.action, entry.allowed) == ("U1", "versions", True)
    assert respond.call_args.kwargs["response_type"] == "ephemeral"


def test_both_feedback_controls_and_nothing_else_are_listened_to() -> None:
    assert FEEDBACK_ACTIONS.match(CONFIRM_ACTION) and FEEDBACK_ACTIONS.match(CORRECT_ACTION)
    assert not FEEDBACK_ACTIONS.match(CONFIRM_ACTION + "_x")
    assert not FEEDBACK_ACTIONS.match("heed_feedback")


def test_a_click_is_acked_then_checked_against_the_installing_workspace(make: Any) -> None:
    services = make()
    prediction = services.db.predictions.record(
        text="hi", label="positive", confidence=0.9, scores={"positive": 0.9}, user="U2"
    )
    action = {"action_id": CONFIRM_ACTION, "block_id": FEEDBACK_BLOCK_ID, "value": str(prediction)}
    body = {
        "type": "block_actions",
        "user": {"id": "U2", "team_id": "T1"},
        "channel": {"id": "C1"},
        "container": {"message_ts": "1.1", "channel_id": "C1", "is_ephemeral": True},
        "actions": [action],
    }
    authorized = AuthorizeResult(enterprise_id=None, team_id="T1", bot_user_id="UBOT")
    acks, _, _ = send(services, FEEDBACK_ACTIONS, body, context=_context(authorized))
    assert acks == [{}]
    assert len(services.db.predictions.answers_for(prediction)) == 1  # the asker may answer
    acks, _, respond = send(services, FEEDBACK_ACTIONS, {**body, "user": {"id": "U2"}})
    assert respond.call_args.kwargs["response_type"] == "ephemeral"  # no workspace: refused


def _context(authorized: AuthorizeResult) -> Any:
    return BoltContext({"authorize_result": authorized})


def message(ts: str, channel: str = "C1", **kw: Any) -> dict[str, Any]:
    return {"type": "message", "channel": channel, "user": "U1", "ts": ts, "text": "hi", **kw}


def test_messages_are_queued_once_in_configured_channels_only(make: Any) -> None:
    stub = StubClassifier(label="negative")
    services = make(stub, autotag_channels=("C1", "#support"))
    client = slack()
    authorized = AuthorizeResult(
        enterprise_id=None, team_id="T1", bot_user_id="UBOT", bot_id="BBOT"
    )

    def event(body: dict[str, Any], event_id: str) -> list[dict[str, Any]]:
        envelope = {"type": "event_callback", "event_id": event_id, "event": body}
        return send(services, "message", envelope, client, context=_context(authorized))[0]

    assert event(message("1.1"), "Ev1") == [{}]
    assert event(message("1.1"), "Ev1") == [{}]  # redelivered
    event(message("1.1"), "Ev9")  # the same message
    event(message("2.2", user="UBOT"), "Ev2")
    event(message("3.3", channel="C2"), "Ev3")  # may be #support: the worker looks it up
    event(message("4.4", text="\u200b\u2060"), "Ev4")
    assert not client.method_calls and not stub.predict_calls  # nothing before the ack
    queued = services.db.pending.take("test", 10, timedelta(seconds=60))
    assert [(t.channel, t.message_ts, t.text, t.user) for t in queued] == [
        ("C1", "1.1", "hi", "U1"),
        ("C2", "3.3", "hi", "U1"),
    ]
    assert services.metrics.autotags.labels("redelivered")._value.get() == 2  # type: ignore[attr-defined]


def test_a_message_the_database_cannot_queue_is_not_acked(make: Any) -> None:
    services = make(autotag_channels=("C1",))
    services.db.close()  # every write now fails
    body = {"type": "event_callback", "event_id": "Ev1", "event": message("1.1")}
    with pytest.raises(NotQueued):
        send(services, "message", body)
    assert services.metrics.autotags.labels("not_queued")._value.get() == 1  # type: ignore[attr-defined]


def test_nothing_is_queued_when_no_channel_is_configured(make: Any) -> None:
    services = make()
    body = {"type": "event_callback", "event_id": "Ev1", "event": message("1.1")}
    acks, client, _ = send(services, "message", body)
    assert acks == [{}] and not client.method_calls
    assert services.db.pending.depth().pending == 0


def test_the_home_tab_is_published_for_who_opened_it(make: Any) -> None:
    services = make()
    body = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U3"}}
    _, client, _ = send(services, "app_home_opened", body)
    assert client.views_publish.call_args.kwargs["user_id"] == "U3"
    for event in ({"user": "U3", "tab": "messages"}, {"tab": "home"}):
        body = {"type": "event_callback", "event": {"type": "app_home_opened", **event}}
        _, client, _ = send(services, "app_home_opened", body)
        assert not client.method_calls


def shortcut(callback_id: str, text: str = "so good") -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "user": {"id": "U1", "team_id": "T1"},
        "channel": {"id": "C1"},
        "message": {"type": "message", "user": "U2", "ts": "5.5", "text": text},
    }


def test_the_classify_shortcut_is_acked_then_answers_privately(make: Any) -> None:
    stub = StubClassifier()
    services = make(stub)
    matcher = {"type": "message_action", "callback_id": "heed_classify_message"}
    acks, client, _ = send(services, matcher, shortcut("heed_classify_message"))
    assert acks == [{}] and stub.explained == [("so good", "attn-grad-mix")]
    assert client.chat_postEphemeral.call_args.kwargs["user"] == "U1"


def test_the_correct_shortcut_is_acked_then_looks_for_the_prediction(make: Any) -> None:
    services = make()
    matcher = {"type": "message_action", "callback_id": "heed_correct_label"}
    acks, _, respond = send(services, matcher, shortcut("heed_correct_label"))
    assert acks == [{}] and respond.call_args.kwargs["text"] == NOT_TAGGED
