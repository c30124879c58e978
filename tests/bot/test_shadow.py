"""Shadow versions in-process against the fake Slack: /heed-admin shadow starts one, every
/classify and auto-tag is predicted beside the serving model and recorded, the report counts
agreement, flips and accuracy on trusted answers, Promote serves it, Stop ends it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.blocks.shadow import PROMOTE_ACTION, STOP_ACTION, button_value
from bot.retrain.messages import PREVIEW_BLOCK_ID, SHADOW_START_ACTION
from bot.serving.shadow import ShadowModels
from classifier.store import ModelStore
from tests.bot.conftest import ADMIN, V1
from tests.bot.stubs import LABELS, StubClassifier
from tests.conftest import make_rows, write_csv
from tests.support.retrain import preview_for

V2 = "20260102-000000-bcdef0"


class Shadow(StubClassifier):
    """Says negative to texts with "bad" in them, positive to the rest."""

    def predict(self, texts: list[str]) -> list:
        out = []
        for text in texts:
            self.label = "negative" if "bad" in text else "positive"
            out.append(self.prediction())
        return out


def with_shadow_store(app: Any) -> list[str]:
    """Put V2 in the store and let the app load shadows as :class:`Shadow`; the loads made."""
    (app.models / V2).mkdir()
    for name in ("config.json", "model.safetensors"):
        (app.models / V2 / name).write_text("{}")
    loads: list[str] = []

    def loader(version: str, store: ModelStore) -> Shadow:
        loads.append(version)
        return Shadow(version=version)

    app.services.shadows = ShadowModels(app.db, app.services.models.store, loader=loader)
    return loads


def report(app: Any) -> dict:
    return app.admin("shadow").params


def test_a_shadow_predicts_beside_the_serving_model_and_its_report_adds_up(heed: Any) -> None:
    app = heed()
    loads = with_shadow_store(app)
    assert "No version shadows task `default`" in report(app)["text"]
    assert "now shadows" in app.admin(f"shadow {V2}").params["text"]
    for text in ("so good", "bad bad", "great stuff"):
        reply = app.classify(text)
    pairs = app.fake.wait_for(
        lambda: (
            len(app.db.shadows.pairs("default", V2)) == 3 and app.db.shadows.pairs("default", V2)
        ),
        timeout=10,
        what="three shadow predictions",
    )
    assert [(p.serving, p.shadow) for p in pairs] == [
        ("positive", "positive"),
        ("positive", "negative"),
        ("positive", "positive"),
    ]
    assert loads == [V2]  # loaded once, on first use
    assert app.db.predictions.get(pairs[1].prediction_id).label == "positive"  # never acts
    app.db.predictions.record_answer(pairs[1].prediction_id, ADMIN, "negative", role="admin")
    body = json.dumps(report(app)["blocks"], ensure_ascii=False)
    assert "*Seen:* 3 messages" in body and "(2 of 3)" in body
    assert "positive → negative: 1" in body and "“bad bad”" in body
    assert "serving 0.0% right, shadow 100.0% right" in body
    assert reply.params["channel"] == "C1"


def test_promote_serves_the_shadow_and_stale_or_foreign_clicks_do_nothing(heed: Any) -> None:
    app = heed()
    with_shadow_store(app)
    app.admin(f"shadow {V2}")
    value = button_value("default", V2)
    app.fake.send_block_action(PROMOTE_ACTION, value, user_id="UMEMBER")
    app.fake.wait_for_call("response_url", lambda c: "Only Heed admins" in c.params["text"])
    assert app.db.shadows.current("default") is not None
    app.fake.send_block_action(PROMOTE_ACTION, value, user_id=ADMIN)
    app.fake.wait_for_call("response_url", lambda c: "Promoted `" + V2 in c.params["text"])
    app.fake.wait_for_call("response_url", lambda c: "no longer shadows" in c.params["text"])
    assert ModelStore(app.models).current() == V2
    assert app.db.shadows.current("default") is None
    app.fake.send_block_action(STOP_ACTION, value, user_id=ADMIN)
    app.fake.wait_for_call("response_url", lambda c: "no longer running" in c.params["text"])
    audit = [(e.action, e.allowed) for e in reversed(app.db.audit.recent())]
    assert ("shadow", False) in audit and audit.count(("shadow", True)) >= 3


def test_bad_shadow_requests_change_nothing(heed: Any) -> None:
    app = heed()
    with_shadow_store(app)
    assert "already serves" in app.admin(f"shadow {V1}").params["text"]
    assert "Cannot shadow" in app.admin("shadow 20990101-000000-abcdef").params["text"]
    assert "not a version" in app.admin("shadow latest").params["text"]
    assert app.db.shadows.current("default") is None
    app.admin(f"shadow {V2} default")  # the task may come after the version
    assert app.db.shadows.current("default").version == V2
    assert "no longer shadows" in app.admin("shadow stop").params["text"]
    app.classify("bad")
    assert app.db.shadows.pairs("default", V2) == []


def test_start_as_shadow_trains_without_promoting_and_shadows_the_new_version(
    heed: Any, tmp_path: Path
) -> None:
    models, v3 = tmp_path / "models", "20260103-000000-cafe00"
    result = {
        "ok": True,
        "version": v3,
        "path": str(models / v3),
        "labels": list(LABELS),
        "metrics": {"accuracy": 0.9, "macro_f1": 0.8, "per_class": {}},
        "promoted": False,
        "rows": {"train": 40, "eval": 15},
    }
    (tmp_path / "result.json").write_text(json.dumps(result) + "\n")
    script = tmp_path / "fake-python"
    script.write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path}/argv\nmkdir -p {models}/{v3}\n'
        f"touch {models}/{v3}/config.json {models}/{v3}/model.safetensors\n"
        f"cat {tmp_path}/result.json\n"
    )
    script.chmod(0o755)
    app = heed(python=str(script), data=(write_csv(tmp_path / "export.csv", make_rows(3)),))
    envelope = app.fake.send_slash_command("/heed-admin", "retrain", user_id=ADMIN)
    preview = preview_for(app.fake, envelope)
    [actions] = [b for b in preview.params["blocks"] if b.get("block_id") == PREVIEW_BLOCK_ID]
    [shadow] = [e for e in actions["elements"] if e["action_id"] == SHADOW_START_ACTION]
    app.fake.send_block_action(
        SHADOW_START_ACTION,
        shadow["value"],
        user_id=ADMIN,
        block_id=PREVIEW_BLOCK_ID,
        message={"type": "message", "ts": "0.1"},
    )
    app.fake.wait_for_call("chat.postMessage", lambda c: "now shadows" in c.params["text"])
    assert "--promote" not in (tmp_path / "argv").read_text().split()
    assert app.db.shadows.current("default").version == v3
    assert ModelStore(app.models).current() == V1  # the serving version stays
