"""Metrics: request kinds come from a fixed set, and the exposition has every series."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ops.metrics import KINDS, Metrics, request_kind


@pytest.mark.parametrize(
    "body,kind",
    [
        ({"command": "/classify"}, "classify"),
        ({"command": "/heed-admin"}, "admin"),
        ({"command": "/anything-else"}, "command"),
        ({"type": "event_callback", "event": {"type": "message"}}, "message"),
        ({"type": "event_callback", "event": {"type": "app_home_opened"}}, "home"),
        ({"type": "event_callback", "event": {"type": "reaction_added"}}, "event"),
        ({"type": "event_callback", "event": "not a dict"}, "event"),
        ({"type": "block_actions", "actions": [{"action_id": "heed_confirm"}]}, "feedback"),
        ({"type": "block_actions", "actions": [{"action_id": "other"}]}, "action"),
        ({"type": "block_actions", "actions": ["junk"]}, "action"),
        ({"type": "message_action"}, "shortcut"),
        ({"type": "view_submission"}, "view"),
        ({"type": "' OR 1=1 --"}, "other"),
        ({}, "other"),
    ],
)
def test_request_kind_is_always_one_of_the_fixed_kinds(body: dict[str, Any], kind: str) -> None:
    assert request_kind(body) == kind and kind in KINDS


def test_the_exposition_names_every_series_and_the_serving_model() -> None:
    metrics = Metrics()
    metrics.watch_model(lambda: "v20261127-000000")
    metrics.predictions.labels("classify", "negative").inc()
    metrics.ack_seconds.labels("classify").observe(0.02)
    text = metrics.render().decode()
    for name in (
        "heed_requests_total",
        "heed_ack_seconds_bucket",
        "heed_predictions_total",
        "heed_upload_failures_total",
        "process_resident_memory_bytes",
    ):
        assert name in text, name
    assert 'heed_model_info{version="v20261127-000000"} 1.0' in text
    assert 'heed_predictions_total{label="negative",source="classify"} 1.0' in text
    assert 'heed_requests_total{kind="feedback"} 0.0' in text  # every kind from the start


def test_two_bots_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.requests.labels("classify").inc()
    assert second.registry.get_sample_value("heed_requests_total", {"kind": "classify"}) == 0
