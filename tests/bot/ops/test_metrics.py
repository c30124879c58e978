"""Metrics: request kinds come from a fixed set, and the exposition has every series;
/healthz, /readyz and /metrics: what they answer, and that readiness is cached."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.agreement import agreement
from bot.ops.metrics import (
    KINDS,
    Metrics,
    Readiness,
    database_check,
    model_check,
    ops_app,
    request_kind,
)


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


def test_agreement_is_exported_per_task_and_read_once_a_minute() -> None:
    metrics = Metrics()
    ratings = [(1, "A", "x"), (1, "B", "x"), (2, "A", "y"), (2, "B", "x"), (3, "A", "y")]
    ratings += [(3, "B", "y")]
    reads = []

    def read() -> dict:
        reads.append(1)
        return {"default": agreement(ratings), "support": agreement([])}

    metrics.watch_agreement(read)
    text = metrics.render().decode()
    assert 'heed_agreement_items{task="default"} 3.0' in text
    assert 'heed_agreement_items{task="support"} 0.0' in text
    cohen = re.search(r'heed_agreement_kappa\{measure="cohen",task="default"\} (\S+)', text)
    assert cohen is not None and float(cohen.group(1)) == pytest.approx(0.4)
    assert 'measure="fleiss"' not in text and 'task="support",measure' not in text  # undefined
    assert 'heed_label_agreement{label="x",task="default"} 0.666' in text
    metrics.render()
    assert len(reads) == 1  # cached


def test_a_failing_agreement_read_leaves_the_rest_of_the_scrape() -> None:
    metrics = Metrics()
    metrics.watch_agreement(lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    assert "heed_requests_total" in metrics.render().decode()


def test_two_bots_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.requests.labels("classify").inc()
    assert second.registry.get_sample_value("heed_requests_total", {"kind": "classify"}) == 0


def get(app: Any, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(
        app({"PATH_INFO": path, "REQUEST_METHOD": method}, lambda s, h: seen.append((s, h)))
    )
    status, headers = seen[0]
    return int(status.split()[0]), dict(headers), body


class Db:
    def __init__(self) -> None:
        self.up, self.calls = True, 0

    def revision(self) -> str:
        self.calls += 1
        if not self.up:
            raise OSError("connection refused to postgresql://heed:pw@db")
        return "0002"


def test_ready_only_when_every_check_passes() -> None:
    db, version = Db(), {"v": None}
    readiness = Readiness(
        {"model": model_check(lambda: version["v"]), "database": database_check(db)}
    )
    app = ops_app(Metrics(), readiness)
    status, headers, body = get(app, "/readyz")
    answer = json.loads(body)
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert answer == {
        "ready": False,
        "checks": {"model": "no model is loaded yet", "database": "ok"},
    }
    version["v"] = "v1"
    readiness.add("slack", lambda: (True, ""))  # adding a check forgets the cached answer
    status, _, body = get(app, "/readyz")
    assert status == 200 and json.loads(body)["checks"] == {
        "model": "ok",
        "database": "ok",
        "slack": "ok",
    }


def test_readiness_is_cached_and_never_shows_the_error_text() -> None:
    db = Db()
    readiness = Readiness({"database": database_check(db)})
    app = ops_app(Metrics(), readiness)
    for _ in range(5):
        get(app, "/readyz")
    assert db.calls == 1
    db.up = False
    fresh = Readiness({"database": database_check(db)})
    status, _, body = get(ops_app(Metrics(), fresh), "/readyz")
    assert status == 503 and b"pw" not in body and b"does not answer" in body


def test_a_check_that_raises_is_not_ready() -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("secret detail")

    status, _, body = get(ops_app(Metrics(), Readiness({"x": broken})), "/readyz")
    assert status == 503 and b"secret" not in body and b"RuntimeError" in body


def test_healthz_metrics_and_the_rest() -> None:
    app = ops_app(Metrics(), Readiness({}))
    assert get(app, "/healthz")[::2] == (200, b"ok\n")
    status, headers, body = get(app, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"heed_requests_total" in body
    assert get(app, "/metrics", "POST")[0] == 405
    assert get(app, "/nothing")[0] == 404
