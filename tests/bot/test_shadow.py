"""Shadow versions in-process against the fake Slack: /heed-admin shadow starts one, every
/classify and auto-tag is predicted beside the serving model and recorded, the report counts
agreement, flips and accuracy on trusted answers, Promote serves it, Stop ends it."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.shadow import PROMOTE_ACTION, STOP_ACTION, button_value
from bot.serving.shadow import ShadowModels
from classifier.store import ModelStore
from tests.bot.conftest import ADMIN, V1
from tests.bot.stubs import StubClassifier

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
