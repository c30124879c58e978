"""Who and where of any Slack request, for log lines (never tokens, never texts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def request_context(body: Mapping[str, Any]) -> dict[str, Any]:
    """Who and where of a command, interaction or event body (None for what is missing)."""
    event = body.get("event") or {}
    actions = body.get("actions") or [{}]
    return {
        "command": body.get("command"),
        "action": actions[0].get("action_id") if isinstance(actions[0], dict) else None,
        "event": event.get("type") or (None if body.get("command") else body.get("type")),
        "channel": body.get("channel_id")
        or event.get("channel")
        or _id(body.get("channel"))
        or (body.get("container") or {}).get("channel_id"),
        "user": body.get("user_id") or event.get("user") or _id(body.get("user")),
        "ts": event.get("ts"),
    }


def format_context(context: Mapping[str, Any]) -> str:
    """``{"command": "/classify", "channel": "C1"}`` -> ``'command=/classify channel=C1'``."""
    return " ".join(f"{k}={v}" for k, v in context.items() if v not in (None, ""))
