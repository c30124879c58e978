"""The daily drift check: the gauge, one DM a week per task and admin across replicas, none
without drift or without a reference, and the alert's "Preview a retrain" button."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.blocks.drift import PREVIEW_ACTION
from bot.drift import DriftWatch, alert_period, measure
from tests.bot.conftest import ADMIN, V1
from tests.conftest import make_rows, write_csv

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday
REFERENCE = {
    "rows": 700,
    "labels": {"negative": 0.3, "neutral": 0.2, "positive": 0.5},
    "confidence": [0, 0, 0, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.1],
}


def with_reference(app: Any, reference: dict | None = REFERENCE) -> None:
    (app.models / V1).mkdir(exist_ok=True)
    for name in ("config.json", "model.safetensors"):  # what makes it a version in the store
        (app.models / V1 / name).write_text("{}")
    meta = {"created": "2026-01-01T00:00:00"}
    if reference is not None:
        meta["drift_reference"] = reference
    (app.models / V1 / "heed.json").write_text(json.dumps(meta))


def traffic(app: Any, mix: dict[str, float], n: int, version: str = V1) -> None:
    """``n`` predictions of ``version`` drawn from ``mix``, confidences from the reference."""
    rng = random.Random(0)
    bins = REFERENCE["confidence"]
    for label in rng.choices(list(mix), weights=list(mix.values()), k=n):
        b = rng.choices(range(10), weights=bins)[0]
        app.db.predictions.record(
            text="t", label=label, confidence=(b + rng.random()) / 10, model_version=version
        )


def watch(app: Any, owner: str, clock: list[datetime]) -> DriftWatch:
    client = WebClient(token="xoxb-test", base_url=app.fake.api_url)
    return DriftWatch(app.services, client, owner=owner, clock=lambda: clock[0])


def dms(app: Any) -> list[Any]:
    return [c for c in app.fake.calls("chat.postMessage") if c.params["channel"].startswith("D")]


def test_a_shifted_mix_alerts_each_admin_once_a_week_across_replicas(heed: Any) -> None:
    app = heed(admins=frozenset({ADMIN, "UADMIN2"}))
    with_reference(app)
    traffic(app, {"negative": 0.3, "neutral": 0.5, "positive": 0.2}, 400)
    traffic(app, {"negative": 1.0}, 50, version="20250101-000000-000000")  # another version
    clock = [NOW]
    a, b = watch(app, "a:1", clock), watch(app, "b:2", clock)
    assert a.tick() == 2 and b.tick() == 0 and a.tick() == 0
    assert sorted(c.params["channel"] for c in dms(app)) == [f"D{ADMIN}", "DUADMIN2"]
    body = json.dumps(dms(app)[0].params["blocks"], ensure_ascii=False)
    assert "400 predictions" in body and "700 held-out rows" in body
    assert "neutral 20.0% → 5" in body and PREVIEW_ACTION in body
    metrics = app.services.metrics.render().decode()
    assert 'heed_drift{kind="labels",task="default"}' in metrics
    clock[0] = NOW + timedelta(days=3)  # same ISO week: checked again, no second DM
    assert b.tick() == 0 and len(dms(app)) == 2
    clock[0] = NOW + timedelta(days=7)
    assert b.tick() == 2 and alert_period(clock[0]) != alert_period(NOW)


def test_traffic_like_the_reference_and_versions_without_one_stay_quiet(heed: Any) -> None:
    app = heed()
    with_reference(app)
    traffic(app, REFERENCE["labels"], 400)
    reading = measure(app.services, "default")
    assert reading is not None and not reading.drifted and reading.rows == 400
    assert reading.labels_psi < 0.02
    assert watch(app, "a:1", [NOW]).tick() == 0 and not dms(app)
    with_reference(app, None)  # a version trained before Heed recorded references
    assert measure(app.services, "default") is None


def test_a_few_messages_prove_nothing(heed: Any) -> None:
    app = heed()
    with_reference(app)
    traffic(app, {"neutral": 1.0}, 3)
    reading = measure(app.services, "default")
    assert reading is not None and reading.labels_psi > 0.5 and not reading.drifted


def test_the_alert_button_shows_admins_the_preview_and_refuses_others(
    heed: Any, tmp_path: Path
) -> None:
    export = write_csv(tmp_path / "export.csv", make_rows(3))
    app = heed(data=(export,))
    with_reference(app)
    fake = app.fake
    fake.send_block_action(PREVIEW_ACTION, "default", user_id="UMEMBER", channel_id="DUMEMBER")
    fake.wait_for_call("response_url", lambda c: "Only Heed admins" in c.params["text"])
    fake.send_block_action(PREVIEW_ACTION, "default", user_id=ADMIN, channel_id=f"D{ADMIN}")
    preview = fake.wait_for_call("response_url", lambda c: "Start retraining" in str(c.params))
    assert "export.csv" in json.dumps(preview.params["blocks"])
    fake.send_block_action(PREVIEW_ACTION, "nosuchtask", user_id=ADMIN, channel_id=f"D{ADMIN}")
    fake.wait_for_call("response_url", lambda c: "names no task" in c.params["text"])
    assert app.db.jobs.recent() == []
