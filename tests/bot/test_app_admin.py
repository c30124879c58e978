"""Feedback controls and /heed-admin in-process against the fake Slack, with a stub classifier
and a stand-in for the training CLI (no torch): stored answers and updated replies, refusals
and the audit log, retrain progress and reports, rollback, export by DM, the Home tab."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.blocks.feedback import (
    CONFIRM_ACTION,
    CORRECT_ACTION,
    FEEDBACK_BLOCK_ID,
    FEEDBACK_UNKNOWN,
    NOT_SHOWN_HERE,
)
from classifier.store import ModelStore
from tests.bot.conftest import controls, select_option
from tests.bot.stubs import LABELS, PNG
from tests.conftest import make_rows, write_csv
from tests.support.retrain import click_start, preview_for, request_retrain

V1, V2, V3 = "20260101-000000-abcdef", "20260102-000000-bcdef0", "20260103-000000-cafe00"
ADMIN, MEMBER = "UADMIN", "UMEMBER"


def fake_training(tmp_path: Path, body: str) -> str:
    """An executable standing in for ``python -m training train`` (ignores its arguments)."""
    path = tmp_path / "fake-python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def trains_v3(tmp_path: Path, gate: Path | None = None) -> str:
    """A training stand-in: progress on stderr (held at ``gate`` after the start event until
    the file exists), then writes and promotes V3 and ends with its JSON result, like the CLI."""
    models = tmp_path / "models"
    result = {
        "ok": True,
        "version": V3,
        "path": str(models / V3),
        "labels": list(LABELS),
        "metrics": {
            "accuracy": 0.9,
            "macro_f1": 0.8,
            "per_class": {
                label: {"precision": 0.9, "recall": 0.8, "f1": 0.85, "support": 5}
                for label in LABELS
            },
        },
        "promoted": True,
        "promotion": {"reason": f"eval macro-F1 0.8000 is not worse than {V1}'s 0.3000"},
        "rows": {"train": 40, "eval": 15},
    }
    events = [
        {"event": "start", "epochs": 1, "total_steps": 2, "train_rows": 40, "eval_rows": 15},
        {"event": "step", "epoch": 1, "step": 1, "total_steps": 2, "loss": 0.7},
        {"event": "epoch", "epoch": 1, "accuracy": 0.9, "macro_f1": 0.8, "best": True},
    ]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (tmp_path / "result.json").write_text(json.dumps(result) + "\n")
    wait = f"while [ ! -f {gate} ]; do sleep 0.05; done" if gate else ""
    return fake_training(
        tmp_path,
        f"""head -n 1 {tmp_path}/events.jsonl >&2
{wait}
tail -n +2 {tmp_path}/events.jsonl >&2
mkdir -p {models}/{V3}
printf '\\211PNG\\r\\n\\032\\nfake' > {models}/{V3}/confusion_matrix.png
echo {V3} > {models}/current
cat {tmp_path}/result.json""",
    )


# -- feedback -------------------------------------------------------------------------------


def test_answers_are_stored_and_shown_on_the_reply(heed: Any) -> None:
    app = heed(labelers=frozenset({"U3"}))
    fake, db = app.fake, app.db
    reply = app.classify("love it")
    confirm, select = controls(reply)
    assert confirm["text"]["text"] == "✓ Correct"
    assert {o["text"]["text"] for o in select["options"]} == {"negative", "neutral"}
    prediction_id = int(confirm["value"])
    stored = fake.wait_for(
        lambda: db.predictions.get(prediction_id).message_ts and db.predictions.get(prediction_id)
    )
    assert (stored.text, stored.label, stored.model_version) == ("love it", "positive", V1)
    assert (stored.channel, stored.message_ts) == ("C1", reply.response["ts"])

    envelope = fake.send_block_action(
        CONFIRM_ACTION,
        confirm["value"],
        user_id="U1",  # the asker
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK_ID,
    )
    assert fake.wait_for_ack(envelope).latency < 3
    update = fake.wait_for_call("chat.update", timeout=10)
    assert update.params["ts"] == reply.response["ts"] and update.params["channel"] == "C1"
    body = json.dumps(update.params["blocks"])
    assert "Suggested: positive by <@U1> (confirmed; a labeler decides)" in body
    assert update.params["blocks"][-1]["block_id"] == FEEDBACK_BLOCK_ID  # still open
    assert "love it" in body and V1 in body  # the label and scores stay

    select_option(fake, reply, "negative", "U3")
    fake.wait_for(lambda: len(fake.calls("chat.update")) == 2, timeout=10)
    body = json.dumps(fake.calls("chat.update")[-1].params["blocks"])
    assert "<@U1>" in body and "Recorded: negative by <@U3> (correction)" in body
    answers = db.predictions.answers_for(prediction_id)
    assert [(a.user, a.chosen_label, a.is_correction, a.role) for a in answers] == [
        ("U1", "positive", False, "asker"),
        ("U3", "negative", True, "labeler"),
    ]
    assert db.predictions.labelled_rows() == [("love it", "negative")]  # the labeler decides


def test_unknown_or_forged_answers_get_a_short_private_note(heed: Any) -> None:
    app = heed()
    fake = app.fake
    fake.send_block_action(CONFIRM_ACTION, "999", user_id="U2")
    note = fake.wait_for_call("response_url", timeout=10)
    assert note.params["text"] == FEEDBACK_UNKNOWN
    assert note.params["response_type"] == "ephemeral" and not fake.calls("chat.update")
    reply = app.classify()
    prediction_id = controls(reply)[0]["value"]
    fake.send_block_action(CORRECT_ACTION, f"{prediction_id}:spam", message_ts=reply.response["ts"])
    fake.wait_for(lambda: len(fake.calls("response_url")) == 2, timeout=10)
    assert fake.calls("response_url")[-1].params["text"] == NOT_SHOWN_HERE  # not in the reply
    assert app.db.predictions.answers_for(int(prediction_id)) == []


def test_an_ephemeral_reply_is_replaced_through_its_response_url(heed: Any) -> None:
    app = heed(private_replies=True)
    fake = app.fake
    fake.send_slash_command("/classify", "meh", user_id="U5")
    reply = fake.wait_for_call("chat.postEphemeral", timeout=10)
    [button] = [
        e
        for b in reply.params["blocks"]
        if b.get("block_id") == FEEDBACK_BLOCK_ID
        for e in b["elements"]
        if e["type"] == "button"
    ]
    fake.send_interactive(
        {
            "type": "block_actions",
            "user": {"id": "U5", "username": "u5", "team_id": fake.team_id},
            "container": {
                "type": "message",
                "message_ts": "1.2",
                "channel_id": "C1",
                "is_ephemeral": True,
            },
            "channel": {"id": "C1"},
            "response_url": f"{fake.base_url}/response/77",
            "actions": [
                {
                    "type": "button",
                    "action_id": CONFIRM_ACTION,
                    "block_id": FEEDBACK_BLOCK_ID,
                    "value": button["value"],
                }
            ],
        }
    )
    replaced = fake.wait_for_call("response_url", timeout=10)
    assert replaced.params["replace_original"] is True
    body = json.dumps(replaced.params["blocks"])
    assert "Suggested: positive by <@U5>" in body and "meh" in body and V1 in body
    assert not fake.calls("chat.update")


# -- admin: refusal, audit, status, help ------------------------------------------------------


def test_non_admins_are_refused_and_every_attempt_is_audited(heed: Any) -> None:
    app = heed()
    refused = app.admin("retrain", user=MEMBER)
    assert "Only Heed admins" in refused.params["text"]
    assert refused.params["response_type"] == "ephemeral"
    assert app.admin("status", user=ADMIN).params["text"].startswith(f"Heed is serving model {V1}")
    assert "unknown subcommand 'frobnicate'" in app.admin("frobnicate").params["text"]
    entries = [(e.user, e.action, e.allowed) for e in reversed(app.db.audit.recent())]
    assert entries == [
        (MEMBER, "retrain", False),
        (ADMIN, "status", True),
        (ADMIN, "frobnicate", True),
    ]
    first = app.db.audit.recent()[-1]
    assert "not listed in HEED_ADMINS" in first.detail and "channel C1" in first.detail
    assert "unknown subcommand" in app.db.audit.recent()[0].detail
    assert app.db.jobs.recent() == [] and app.services.models.holder("default").version == V1
    assert not app.fake.calls("users.info")  # HEED_ADMINS_FROM_WORKSPACE is off


def test_workspace_admins_count_only_with_the_flag(heed: Any) -> None:
    app = heed(admins=frozenset(), admins_from_workspace=True)
    app.fake.set_user("UBOSS", is_admin=True)
    app.fake.set_user("UOWNER", is_owner=True)
    assert "Usage" in app.admin("help", user="UBOSS").params["text"]
    assert "Usage" in app.admin("", user="UBOSS").params["text"]
    assert "Usage" in app.admin("help", user="UOWNER").params["text"]
    assert "Only Heed admins" in app.admin("help", user=MEMBER).params["text"]
    looked_up = [c.params["user"] for c in app.fake.calls("users.info")]
    assert sorted(looked_up) == ["UBOSS", "UMEMBER", "UOWNER"]  # cached: UBOSS once
    assert [e.allowed for e in reversed(app.db.audit.recent())] == [True, True, True, False]
    assert "workspace admin" in app.db.audit.recent()[-1].detail
    app.fake.fail_next("users.info", error="fatal_error")  # fail closed, say why
    assert "Only Heed admins" in app.admin("status", user="UNEW").params["text"]
    assert "users.info failed (fatal_error)" in app.db.audit.recent(1)[0].detail


# -- admin: retrain -------------------------------------------------------------------------


def test_retrain_reports_progress_evaluation_and_swaps(heed: Any, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    export = write_csv(tmp_path / "export.csv", make_rows(5))
    app = heed(python=trains_v3(tmp_path, gate), data=(export,))
    fake = app.fake
    envelope = fake.send_slash_command("/heed-admin", "retrain", user_id=ADMIN, channel_id="C1")
    assert fake.wait_for_ack(envelope).latency < 3
    preview = preview_for(fake, envelope)
    assert preview.params["response_type"] == "ephemeral" and not fake.calls("chat.postMessage")
    shown = json.dumps(preview.params["blocks"])
    assert "export `export.csv`: 15 rows (negative 5, neutral 5, positive 5)" in shown
    assert "Start retraining" in shown and "Cancel" in shown
    assert app.db.jobs.recent() == []  # nothing starts before Start
    click_start(fake, preview, ADMIN)
    status = fake.wait_for_call("chat.postMessage", timeout=10)
    assert (
        status.params["channel"] == "C1"
        and "Retraining requested by <@UADMIN>" in status.params["text"]
    )
    fake.wait_for(
        lambda: any("training on 40 rows" in c.params["text"] for c in fake.calls("chat.update")),
        timeout=10,
        what="the start event",
    )
    # a second retrain while one runs is refused, and starts nothing
    second = app.admin("retrain")
    assert second.params["text"].startswith(
        ":hourglass: A job is already running (#1, started by <@UADMIN>"
    )
    gate.touch()

    done = fake.wait_for(
        lambda: [
            c
            for c in fake.calls("chat.postMessage")
            if "Retraining job #1" in json.dumps(c.params.get("blocks", []))
        ],
        timeout=20,
        what="the evaluation",
    )[0]
    body = json.dumps(done.params["blocks"])
    assert "*Accuracy:* 90.0%" in body and "*macro-F1:* 80.0%" in body
    assert f"*Promoted:* Heed now serves `{V3}`" in body and "not worse than" in body
    assert "precision" in body and "support" in body
    updates = [c.params["text"] for c in fake.calls("chat.update")]
    assert all(c.params["ts"] == status.response["ts"] for c in fake.calls("chat.update"))
    assert any("epoch 1/1 evaluated" in u for u in updates)
    assert updates[-1].startswith(":white_check_mark: Retraining job #1 finished")
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=10)[0]
    assert upload.channel == "C1" and upload.data.startswith(PNG) and V3 in upload.filename
    assert (
        app.services.models.holder("default").version == V3
    )  # swapped at once, not by the watcher
    assert V3 in app.classify("after").params["text"]
    job = app.db.jobs.recent(1)[0]
    assert (job.status, job.version, job.promoted, job.requested_by) == (
        "succeeded",
        V3,
        True,
        ADMIN,
    )
    assert (job.channel, job.message_ts) == ("C1", status.response["ts"])
    audit = [(e.action, e.detail) for e in reversed(app.db.audit.recent())]
    assert [action for action, _ in audit] == ["retrain"] * 3  # preview, Start, refused
    assert "start (preview button)" in audit[1][1]


def data_error(*problems: tuple[str, int, str]) -> str:
    """The training CLI's last stdout line for invalid data."""
    return json.dumps(
        {
            "ok": False,
            "error": {
                "kind": "data",
                "message": "invalid training data",
                "problems": [{"file": f, "line": n, "reason": r} for f, n, r in problems],
            },
        }
    )


def test_a_failed_retrain_is_one_line_and_changes_nothing(heed: Any, tmp_path: Path) -> None:
    error = data_error(("/data/bad.csv", 1, "missing column 'label' (columns: text, category)"))
    (tmp_path / "error.json").write_text(error + "\n")
    python = fake_training(
        tmp_path,
        "echo 'Traceback (most recent call last): a detail for the log only' >&2\n"
        f"cat {tmp_path}/error.json\nexit 2",
    )
    export = write_csv(tmp_path / "export.csv", make_rows(5))
    app = heed(python=python, data=(export,))
    fake = app.fake
    request_retrain(fake, ADMIN)
    line = fake.wait_for_call(
        "chat.postMessage", lambda c: c.params["text"].startswith(":x:"), timeout=20
    ).params["text"]
    assert line == (
        ":x: <@UADMIN> retraining job #1 failed: the training data is invalid: "
        "/data/bad.csv:1: missing column 'label' (columns: text, category); "
        f"the serving model is unchanged (`{V1}`)"
    )
    assert fake.calls("chat.update")[-1].params["text"] == line
    assert (
        app.services.models.holder("default").version == V1
        and ModelStore(app.models).current() == V1
    )
    job = app.db.jobs.recent(1)[0]
    assert job.status == "failed" and "Traceback" not in (job.message or "")
    assert job.message == (
        "the training data is invalid: /data/bad.csv:1: missing column 'label' "
        "(columns: text, category)"
    )


def test_a_killed_training_child_is_reported_by_its_signal(heed: Any, tmp_path: Path) -> None:
    python = fake_training(tmp_path, "kill -9 $$")
    export = write_csv(tmp_path / "export.csv", make_rows(5))
    app = heed(python=python, data=(export,))
    request_retrain(app.fake, ADMIN)
    line = app.fake.wait_for_call(
        "chat.postMessage", lambda c: c.params["text"].startswith(":x:"), timeout=20
    ).params["text"]
    assert "retraining job #1 failed: training was killed by SIGKILL (out of memory?)" in line
    assert f"the serving model is unchanged (`{V1}`)" in line
    assert app.services.models.holder("default").version == V1


def test_nothing_to_train_on_is_said_plainly(heed: Any) -> None:
    app = heed()
    answer = app.admin("retrain")
    assert answer.params["text"] == (
        ":information_source: Nothing to train on: `HEED_TRAIN_DATA` names no export and no "
        "feedback has been recorded yet. Set `HEED_TRAIN_DATA` to a labelled CSV/TSV/JSONL "
        "export, or answer some `/classify` replies first."
    )
    assert not app.fake.calls("chat.postMessage") and app.db.jobs.recent() == []


# -- admin: rollback, export, home --------------------------------------------------------------


def test_rollback_swaps_back_and_says_so(heed: Any) -> None:
    app = heed()
    nothing = app.admin("rollback")
    assert "Nothing to roll back to" in nothing.params["text"] and V1 in nothing.params["text"]
    store = ModelStore(app.models)
    for version in (V1, V2):  # stub versions: enough for the store, loaded by the stub loader
        (app.models / version).mkdir()
        (app.models / version / "config.json").write_text("{}")
        (app.models / version / "model.safetensors").write_bytes(b"x")
    (app.models / "history.json").write_text(json.dumps([V1, V2]))
    (app.models / "current").write_text(V2)
    app.services.models.holder("default").reload()
    assert app.services.models.holder("default").version == V2
    done = app.admin("rollback")
    assert done.params["text"] == f":leftwards_arrow_with_hook: Rolled back from `{V2}` to `{V1}`."
    assert done.params["response_type"] == "in_channel"
    assert store.current() == V1 and app.services.models.holder("default").version == V1
    assert V1 in app.classify().params["text"]


def test_export_sends_the_labelled_rows_by_dm(heed: Any) -> None:
    app = heed()
    assert "No labelled rows yet" in app.admin("export").params["text"]
    db = app.db
    first = db.predictions.record(text='=HYPERLINK("http://x.example","so nice")', label="neutral")
    db.predictions.record_answer(first, "U2", "positive", role="labeler")
    db.predictions.record_answer(
        db.predictions.record(text="fine", label="neutral"), "U3", "neutral", role="admin"
    )
    answer = app.admin("export")
    assert answer.params["text"].startswith(":incoming_envelope: Sent 2 labelled rows")
    assert app.fake.calls("conversations.open")[0].params["users"] == ADMIN
    people, training = [u for u in app.fake.uploads if u.completed]
    assert people.channel == training.channel == "DUADMIN"
    assert people.filename.endswith(".csv") and training.filename.endswith(".jsonl")
    assert people.data == (
        b'text,label\r\n"\'=HYPERLINK(""http://x.example"",""so nice"")",positive\r\n'
        b"fine,neutral\r\n"
    )
    assert training.data.decode().splitlines() == [
        '{"text": "=HYPERLINK(\\"http://x.example\\",\\"so nice\\")", "label": "positive"}',
        '{"text": "fine", "label": "neutral"}',
    ]


def test_home_tab_shows_model_jobs_and_feedback(heed: Any) -> None:
    app = heed()
    job = app.db.jobs.claim("retrain", ADMIN, owner="r", lease=timedelta(seconds=30))
    app.db.jobs.finish(job.id, "failed", message="bad.csv:1: missing column 'label'")
    db = app.db
    db.predictions.record_answer(
        db.predictions.record(text="x", label="neutral"), "U2", "positive", role="labeler"
    )
    app.fake.send_event({"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "home"})
    view = app.fake.wait_for_call("views.publish", timeout=5).params["view"]
    body = json.dumps(view)
    assert view["type"] == "home" and V1 in body
    assert ":x: #1" in body and "1 answer (" in body
    assert "missing column 'label'" not in body  # a member sees that it failed, not why
    app.fake.send_event(
        {"type": "app_home_opened", "user": ADMIN, "channel": "DUADMIN", "tab": "home"}
    )
    app.fake.wait_for(lambda: len(app.fake.calls("views.publish")) == 2, timeout=5)
    body = json.dumps(app.fake.calls("views.publish")[-1].params["view"])
    assert "missing column 'label'" in body
