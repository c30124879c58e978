"""The admin check (HEED_ADMINS, workspace roles via users.info), /heed-admin parsing, and the
Block Kit of feedback controls, admin answers, retraining reports and the App Home tab."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import blocks
from bot.admin import AdminCheck, parse_admin
from bot.feedback import Feedback, JobRecord
from bot.retrain import Job, JobResult

V1, V2 = "20260101-000000-abcdef", "20260102-000000-bcdef0"
LABELS = ["negative", "neutral", "positive"]


class Lookup:
    """A stand-in for ``users.info``: answers from ``users``, counts calls, may fail."""

    def __init__(self, users: dict[str, dict[str, Any]], fail: bool = False) -> None:
        self.users, self.fail, self.calls = users, fail, []

    def __call__(self, user_id: str) -> dict[str, Any]:
        self.calls.append(user_id)
        if self.fail:
            raise RuntimeError("ratelimited")
        return self.users.get(user_id, {"id": user_id})


# -- the admin check ------------------------------------------------------------------------


def test_listed_admins_are_allowed_without_a_lookup() -> None:
    lookup = Lookup({})
    check = AdminCheck({"UADMIN"}, from_workspace=True)
    decision = check.check("UADMIN", lookup)
    assert decision.allowed and "HEED_ADMINS" in decision.reason and lookup.calls == []


def test_workspace_roles_are_ignored_when_the_flag_is_off() -> None:
    lookup = Lookup({"UBOSS": {"is_admin": True, "is_owner": True}})
    check = AdminCheck({"UADMIN"}, from_workspace=False)
    decision = check.check("UBOSS", lookup)
    assert not decision.allowed and decision.reason == "not listed in HEED_ADMINS"
    assert lookup.calls == []  # users.info is never asked
    assert not check.check(None, lookup).allowed


@pytest.mark.parametrize(
    "profile,allowed,why",
    [
        ({"is_admin": True}, True, "workspace admin"),
        ({"is_owner": True}, True, "workspace owner"),
        ({"is_primary_owner": True}, True, "workspace owner"),
        ({}, False, "not a workspace admin or owner"),
        ({"is_admin": True, "deleted": True}, False, "deactivated"),
    ],
)
def test_workspace_admins_and_owners_when_the_flag_is_on(
    profile: dict[str, Any], allowed: bool, why: str
) -> None:
    lookup = Lookup({"U7": profile})
    decision = AdminCheck(set(), from_workspace=True).check("U7", lookup)
    assert decision.allowed is allowed and why in decision.reason
    assert lookup.calls == ["U7"]


def test_workspace_answers_are_cached_briefly_and_failures_are_not() -> None:
    now = [0.0]
    check = AdminCheck(set(), from_workspace=True, ttl=60, clock=lambda: now[0])
    lookup = Lookup({"U7": {"is_admin": True}})
    assert check.check("U7", lookup).allowed and check.check("U7", lookup).allowed
    assert lookup.calls == ["U7"]
    now[0] = 61.0
    assert check.check("U7", lookup).allowed and lookup.calls == ["U7", "U7"]

    failing = Lookup({}, fail=True)
    decision = check.check("U8", failing)
    assert not decision.allowed and "users.info failed" in decision.reason
    assert not check.check("U8", failing).allowed and failing.calls == ["U8", "U8"]


@pytest.mark.parametrize(
    "text,parsed",
    [
        ("", ("help", "")),
        ("   ", ("help", "")),
        ("retrain", ("retrain", "")),
        ("  Status  ", ("status", "")),
        ("--help", ("help", "")),
        ("rollback now please", ("rollback", "now please")),
        ("x" * 80, ("x" * 40, "")),
    ],
)
def test_parse_admin(text: str, parsed: tuple[str, str]) -> None:
    assert parse_admin(text) == parsed


# -- feedback blocks ------------------------------------------------------------------------


def test_feedback_controls_carry_the_prediction_id() -> None:
    confirm, select = blocks.feedback_elements(42, "positive", LABELS)
    assert confirm["type"] == "button" and confirm["value"] == "42"
    assert confirm["action_id"] == blocks.CONFIRM_ACTION and "Correct" in confirm["text"]["text"]
    assert select["type"] == "static_select" and select["action_id"] == blocks.CORRECT_ACTION
    assert select["placeholder"]["text"] == "Actually it's…"
    options = [(o["text"]["text"], o["value"]) for o in select["options"]]
    assert options == [("negative", "42:negative"), ("neutral", "42:neutral")]
    assert blocks.parse_choice("42") == (42, "")
    assert blocks.parse_choice("42:neutral") == (42, "neutral")
    assert blocks.parse_choice("42:a:b") == (42, "a:b")
    with pytest.raises(ValueError):
        blocks.parse_choice("forged")


def test_feedback_controls_fit_slacks_limits() -> None:
    long_label = "refund_" + "x" * 200
    labels = [long_label, *(f"label_{i:03d}" for i in range(150))]
    _, select = blocks.feedback_elements(7, "label_000", labels)
    assert "options" not in select and len(select["option_groups"]) == 2
    groups = select["option_groups"]
    assert [len(g["options"]) for g in groups] == [blocks.MAX_OPTIONS, 50]
    assert all(len(g["label"]["text"]) <= 75 for g in groups)
    options = [o for g in groups for o in g["options"]]
    assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)
    assert "label_000" not in {o["text"]["text"] for o in options}  # that is "Correct"
    [long] = [o for o in options if o["text"]["text"].startswith("refund_")]
    assert long["value"] == "7#0" and blocks.parse_choice(long["value"]) == (7, 0)
    # a one-label model has nothing to pick from: only the button
    assert [e["type"] for e in blocks.feedback_elements(1, "only", ["only"])] == ["button"]


def answer(user: str, label: str, correction: bool) -> Feedback:
    return Feedback(1, user, None, datetime.now(UTC), label, "positive", correction)


def test_the_feedback_note_goes_above_the_controls_and_is_replaced() -> None:
    _, reply = blocks.classify_reply(
        explanation(), text="so good", feedback=blocks.feedback_elements(1, "positive", LABELS)
    )
    once = blocks.with_feedback_note(reply, [answer("U1", "positive", False)])
    assert once[-1]["block_id"] == blocks.FEEDBACK_BLOCK_ID
    assert once[-2]["block_id"] == blocks.FEEDBACK_NOTE_BLOCK_ID
    assert "Recorded: positive by <@U1> (confirmed)" in json.dumps(once)
    twice = blocks.with_feedback_note(
        once, [answer("U1", "positive", False), answer("U2", "negative", True)]
    )
    notes = [b for b in twice if b.get("block_id") == blocks.FEEDBACK_NOTE_BLOCK_ID]
    assert len(notes) == 1 and len(twice) == len(once)
    text = notes[0]["elements"][0]["text"]
    assert "Recorded: negative by <@U2> (correction)" in text and "<@U1>" in text
    many = [answer(f"U{i}", "neutral", True) for i in range(15)]
    text = blocks.feedback_note(many)["elements"][0]["text"]
    assert text.startswith("… and 5 earlier answers") and "<@U14>" in text and "<@U4>" not in text


def explanation() -> Any:
    from classifier.types import Explanation, Prediction

    scores = {"negative": 0.05, "neutral": 0.12, "positive": 0.83}
    return Explanation(
        "attention", ["so", "good"], [0.5, 0.5], Prediction("positive", 0.83, scores, V1)
    )


# -- admin, retraining and home blocks -------------------------------------------------------

METADATA = {
    "version": V2,
    "labels": LABELS,
    "metrics": {
        "accuracy": 0.9,
        "macro_f1": 0.88,
        "per_class": {
            label: {"precision": 0.9, "recall": 0.85, "f1": 0.87, "support": 10} for label in LABELS
        },
    },
    "rows": {"train": 80, "eval": 30},
    "created": "2026-01-02T00:00:00+00:00",
}


def job_record(job_id: int, status: str, **kw: Any) -> JobRecord:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    fields = {
        "id": job_id,
        "kind": "retrain",
        "requested_by": "UADMIN",
        "created": now,
        "started": now,
        "finished": now + timedelta(minutes=3),
        "status": status,
        "version": None,
        "promoted": None,
        "metrics": None,
        "message": None,
        "channel": "C1",
        "message_ts": "1.1",
    }
    fields.update(kw)
    return JobRecord(**fields)


def running_job() -> Job:
    job = Job(3, "UADMIN", datetime.now(UTC) - timedelta(seconds=42), [], 0)
    job.start_event = {"event": "start", "epochs": 2, "total_steps": 10}
    job.last_progress = {"event": "step", "epoch": 1, "step": 5, "total_steps": 10, "loss": 0.5}
    return job


JOBS = [
    job_record(
        2,
        "succeeded",
        version=V2,
        promoted=True,
        metrics={"macro_f1": 0.88},
        message="eval macro-F1 0.8800 is not worse than the old model's 0.5000",
    ),
    job_record(1, "failed", message="bad.csv:1: missing column 'label'"),
]


def test_status_shows_model_metrics_running_job_and_history() -> None:
    text, status = blocks.status_blocks(
        V2,
        METADATA,
        current=running_job(),
        jobs=JOBS,
        counts={"answers": 4, "corrections": 1, "confirmations": 3, "labelled_rows": 3},
        train_data=["/data/export.csv"],
    )
    body = json.dumps(status)
    assert V2 in text and V2 in body
    assert all(f"`{label}`" in body for label in LABELS)
    assert "accuracy 90.0%" in body and "macro-F1 88.0%" in body and "30 held-out rows" in body
    assert "precision" in body and "0.870" in body  # the per-class table
    assert "#3 started by <@UADMIN>" in body and "step 5/10 (50%)" in body
    assert "#2 2026-01-02 12:03 UTC by <@UADMIN>: trained" in body and "promoted" in body
    assert ":x: #1" in body and "missing column 'label'" in body
    assert "4 answers" in body and "3 labelled rows" in body and "/data/export.csv" in body
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in status)
    idle = json.dumps(blocks.status_blocks(None, {}, current=None, jobs=[])[1])
    assert "`none`" in idle and "*Running job:* none" in idle and "none yet" in idle


def test_already_running_names_who_started_it() -> None:
    text = blocks.already_running(running_job())
    assert text.startswith(":hourglass: A job is already running (#3, started by <@UADMIN> at ")
    assert "step 5/10" in text


def result(**kw: Any) -> JobResult:
    outcome = {
        "version": V2,
        "path": "/nowhere",
        "labels": LABELS,
        "metrics": METADATA["metrics"],
        "promoted": True,
        "promotion": {"reason": "eval macro-F1 0.8800 is not worse than old's 0.5000"},
        "rows": {"train": 80, "eval": 30},
    }
    outcome.update(kw)
    return JobResult(5, "succeeded", result=outcome, seconds=12.3, corrections_rows=4)


def test_evaluation_has_metrics_table_and_the_promotion_decision() -> None:
    text, evaluation = blocks.evaluation_blocks(result(), "UADMIN", V2)
    body = json.dumps(evaluation)
    assert text.startswith(f"trained {V2}: accuracy 0.900, macro-F1 0.880; promoted")
    assert "*Accuracy:* 90.0%" in body and "*macro-F1:* 88.0%" in body
    assert "30 held-out rows" in body and "4 labelled rows from feedback" in body
    assert f"*Promoted:* Heed now serves `{V2}`" in body and "not worse than" in body
    assert "```label" in body and "support" in body
    kept = json.dumps(
        blocks.evaluation_blocks(
            result(promoted=False, promotion={"reason": "worse"}), "UADMIN", V1
        )[1]
    )
    assert f"*Not promoted:* Heed still serves `{V1}`" in kept and "worse" in kept
    finished = blocks.retrain_finished(result(), V2)
    assert "finished in 12s" in finished and "promoted and now serving" in finished


def test_a_failure_is_one_line_with_the_reason() -> None:
    failed = JobResult(6, "failed", reason="bad.csv:1: missing column 'label'\nmore")
    line = blocks.retrain_failed(failed, "UADMIN", V1)
    assert "\n" not in line and line.startswith(":x: <@UADMIN> retraining job #6 failed: ")
    assert "missing column 'label'" in line and f"unchanged (`{V1}`)" in line
    timed_out = JobResult(
        7,
        "timed_out",
        reason="timed out after 5s; training was stopped; the serving model is unchanged",
    )
    line = blocks.retrain_failed(timed_out, None, V1)
    assert "job #7 timed out: timed out after 5s" in line and line.count("unchanged") == 1


def test_home_view_has_model_jobs_and_feedback() -> None:
    view = blocks.home_view(
        V2,
        METADATA,
        ("C1", "#support"),
        current=running_job(),
        jobs=JOBS,
        counts={"answers": 2, "corrections": 1, "confirmations": 1, "labelled_rows": 2},
    )
    body = json.dumps(view)
    assert view["type"] == "home" and V2 in body and "`positive`" in body
    assert "macro-F1 88.0%" in body and "#support" in body and "<#C1>" in body
    assert "#3 started by" in body and "#2 " in body and "#1 " in body
    assert "2 answers" in body and "/classify" in body
    empty = json.dumps(blocks.home_view(None, {}, ()))
    assert "`none`" in empty and "none yet" in empty


def test_rolled_back_and_refusal_texts() -> None:
    assert (
        blocks.rolled_back(V2, V1, V1)
        == f":leftwards_arrow_with_hook: Rolled back from `{V2}` to `{V1}`."
    )
    assert "still serves" in blocks.rolled_back(V2, V1, V2)
    refused = blocks.refusal("not listed in HEED_ADMINS")
    assert "Only Heed admins" in refused and "logged" in refused
    assert "retrain | status | rollback | export" in blocks.admin_usage()
    assert blocks.admin_usage("unknown subcommand 'x'").startswith(":warning: unknown")


def test_manifest_usage_hint_lists_help(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "slack-manifest.yaml").read_text()
    )
    [admin] = [c for c in manifest["features"]["slash_commands"] if c["command"] == "/heed-admin"]
    assert admin["usage_hint"] == "retrain | status | rollback | export | help"
