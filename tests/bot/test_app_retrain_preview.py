"""/heed-admin retrain previews what would go in before anything starts; Start / Cancel are
for admins of this workspace only; cancel, versions and promote (in-process, fake Slack)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bot.agreement import MIN_PAIRS
from bot.retrain.messages import (
    CANCEL_ACTION,
    PREVIEW_BLOCK_ID,
    PREVIEW_CANCELLED,
    START_ACTION,
)
from tests.bot.conftest import ADMIN, V1
from tests.conftest import make_rows, write_csv
from tests.support.retrain import click_start, preview_for

V2 = "20260102-000000-bcdef0"


def labeler_answer(db: Any, text: str, label: str, user: str, predicted: str = "neutral") -> int:
    pid = db.predictions.record(text=text, label=predicted, model_version=V1)
    db.predictions.record_answer(pid, user, label, role="labeler")
    return pid


def ask_preview(app: Any, user: str = ADMIN) -> Any:
    envelope = app.fake.send_slash_command("/heed-admin", "retrain", user_id=user)
    return preview_for(app.fake, envelope)


def test_the_preview_shows_exports_corrections_givers_and_held_rows(
    heed: Any, tmp_path: Path
) -> None:
    export = write_csv(tmp_path / "export.csv", make_rows(4))
    held = write_csv(tmp_path / "held.csv", make_rows(2, seed=9))
    app = heed(data=(export,), eval_data=(held,))
    (app.models / V1).mkdir(exist_ok=True)
    (app.models / V1 / "heed.json").write_text(json.dumps({"created": "2020-01-01T00:00:00"}))
    db = app.db
    labeler_answer(db, "it broke", "negative", "ULAB1")
    labeler_answer(db, "meh", "neutral", "ULAB1")
    labeler_answer(db, "love it", "positive", "ULAB2")
    disputed = labeler_answer(db, "who knows", "positive", "ULAB1")
    db.predictions.record_answer(disputed, "ULAB2", "negative", role="labeler")
    body = json.dumps(ask_preview(app).params["blocks"])
    assert "export `export.csv`: 12 rows (negative 4, neutral 4, positive 4)" in body
    assert "judged on `held.csv`: 6 rows" in body and "`HEED_EVAL_DATA`" in body
    assert "3 labelled rows in all; 3 new since `" + V1 in body
    assert "(negative 1, neutral 1, positive 1)" in body
    assert "<@ULAB1> 2, <@ULAB2> 1" in body
    assert "*Held for review:* 1 message" in body
    assert "Low labeler agreement" not in body  # one disputed message: too few pairs
    assert "Start retraining" in body and app.db.jobs.recent() == []


def test_the_preview_warns_about_labels_the_labelers_disagree_on(heed: Any, tmp_path: Path) -> None:
    app = heed(data=(write_csv(tmp_path / "export.csv", make_rows(4)),))
    for n in range(MIN_PAIRS):  # two labelers: "neutral" against "negative", every time
        pid = labeler_answer(app.db, f"unclear {n}", "neutral", "ULAB1")
        app.db.predictions.record_answer(pid, "ULAB2", "negative", role="labeler")
        agreed = labeler_answer(app.db, f"clear {n}", "positive", "ULAB1")
        app.db.predictions.record_answer(agreed, "ULAB2", "positive", role="labeler")
    body = json.dumps(ask_preview(app).params["blocks"])
    assert ":warning: *Low labeler agreement* (under 60%, 5+ pairs)" in body
    assert "*negative* 0% (5 pairs), *neutral* 0% (5 pairs)" in body and "*positive*" not in body


def test_data_problems_are_listed_ten_at_most_and_block_start(heed: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\n" + "".join(f",x{i}\n" for i in range(14)), encoding="utf-8")
    app = heed(data=(bad,))
    body = json.dumps(ask_preview(app).params["blocks"])
    assert "*Data problems* (14, the first 10):" in body
    assert body.count("bad.csv:") == 10 and "bad.csv:2: empty text" in body
    assert "Start retraining" not in body and "Cancel" in body


def test_cancel_and_strangers_start_nothing(heed: Any, tmp_path: Path) -> None:
    export = write_csv(tmp_path / "export.csv", make_rows(3))
    app = heed(data=(export,))
    fake = app.fake
    preview = ask_preview(app)
    click_start(fake, preview, "UMEMBER")  # not an admin
    refused = fake.wait_for_call("response_url", lambda c: "Only Heed admins" in c.params["text"])
    assert refused.params["response_type"] == "ephemeral"
    fake.send_block_action(
        START_ACTION,
        "x",
        user_id=ADMIN,
        block_id=PREVIEW_BLOCK_ID,
        user_team="TOTHER",
    )
    fake.wait_for_call("response_url", lambda c: "installing workspace" in c.params["text"])
    fake.send_block_action(CANCEL_ACTION, "cancel", user_id=ADMIN, block_id=PREVIEW_BLOCK_ID)
    fake.wait_for_call("response_url", lambda c: c.params["text"] == PREVIEW_CANCELLED)
    time.sleep(0.2)
    assert app.db.jobs.recent() == [] and not fake.calls("chat.postMessage")
    audit = [(e.user, e.allowed) for e in reversed(app.db.audit.recent())]
    assert audit == [(ADMIN, True), ("UMEMBER", False), (ADMIN, False), (ADMIN, True)]


def test_versions_promote_and_cancel(heed: Any) -> None:
    app = heed()
    store = app.services.models.holder("default").store
    for version, f1 in ((V1, 0.5), (V2, 0.75)):
        (app.models / version).mkdir(exist_ok=True)
        (app.models / version / "model.safetensors").write_bytes(b"x")
        (app.models / version / "config.json").write_text("{}")
        (app.models / version / "heed.json").write_text(json.dumps({"metrics": {"macro_f1": f1}}))
    listing = json.dumps(app.admin("versions").params, ensure_ascii=False)
    assert listing.index(V2) < listing.index(V1)  # newest first
    assert (
        "macro-F1 75.0%" in listing and f"`{V1}` — macro-F1 50.0% :arrow_left: serving" in listing
    )
    assert "promote needs a version" in app.admin("promote nonsense").params["text"]
    assert "Cannot promote" in app.admin("promote 20990101-000000-ffffff").params["text"]
    done = app.admin(f"promote {V2}")
    assert done.params["response_type"] == "in_channel"
    assert done.params["text"] == f":arrow_up: Promoted `{V2}`: Heed serves it now."
    assert store.current() == V2 and app.services.models.holder("default").version == V2
    assert app.admin("rollback").params["text"].endswith(f"to `{V1}`.")
    assert (
        app.admin("cancel").params["text"] == ":information_source: No retraining job is running."
    )
    assert [e.action for e in app.db.audit.recent(3)] == ["cancel", "rollback", "promote"]
