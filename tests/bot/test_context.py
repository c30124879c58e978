"""The who and where of any Slack request, for log lines."""

from __future__ import annotations

from bot.context import format_context, request_context


def test_a_slash_command() -> None:
    body = {"command": "/classify", "channel_id": "C1", "user_id": "U1", "text": "secret words"}
    assert request_context(body) == {
        "command": "/classify",
        "action": None,
        "event": None,
        "channel": "C1",
        "user": "U1",
        "ts": None,
    }
    assert format_context(request_context(body)) == "command=/classify channel=C1 user=U1"


def test_an_event() -> None:
    body = {
        "type": "event_callback",
        "event_id": "Ev1",
        "event": {"type": "message", "channel": "C2", "user": "U2", "ts": "1.5", "text": "x"},
    }
    assert request_context(body) == {
        "command": None,
        "action": None,
        "event": "message",
        "channel": "C2",
        "user": "U2",
        "ts": "1.5",
    }


def test_an_interaction() -> None:
    body = {
        "type": "block_actions",
        "channel": {"id": "C3"},
        "user": {"id": "U3", "username": "u3"},
        "actions": [{"action_id": "heed_feedback_confirm", "value": "7"}],
    }
    context = request_context(body)
    assert (context["event"], context["action"]) == ("block_actions", "heed_feedback_confirm")
    assert (context["channel"], context["user"]) == ("C3", "U3")
    ephemeral = request_context(
        {"type": "block_actions", "container": {"channel_id": "C4"}, "user": {"id": "U4"}}
    )
    assert (ephemeral["channel"], ephemeral["user"], ephemeral["action"]) == ("C4", "U4", None)


def test_an_empty_body_and_format_leaves_out_missing_parts() -> None:
    assert set(request_context({}).values()) == {None}
    assert format_context(request_context({})) == ""
    assert format_context({"command": "/x", "channel": "", "user": None, "ts": "1"}) == (
        "command=/x ts=1"
    )
