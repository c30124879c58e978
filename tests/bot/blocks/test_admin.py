"""The /heed-admin surface (help, refusals, status, job lines, rollback, export) and App Home."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.blocks.admin import (
    DETAILS_NOTE,
    FALLBACK_NOTE,
    admin_usage,
    already_running,
    counts_line,
    export_messages,
    home_view,
    job_line,
    model_lines,
    per_class_table,
    refusal,
    rolled_back,
    running_line,
    status_blocks,
)
from tests.bot.blocks.samples import JOBS, LABELS, METADATA, V1, V2, job_record, running_job


def test_status_shows_model_metrics_running_job_and_history() -> None:
    text, status = status_blocks(
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
    idle = json.dumps(status_blocks(None, {}, current=None, jobs=[])[1])
    assert "`none`" in idle and "*Running job:* none" in idle and "none yet" in idle
    assert "*HEED_TRAIN_DATA:* none" in idle


def test_the_running_job_is_not_listed_twice() -> None:
    running = job_record(3, "running", finished=None)
    _, status = status_blocks(V2, METADATA, current=running_job(), jobs=[running, *JOBS])
    body = json.dumps(status)
    assert body.count("#3 ") == 1 and "#3 started by" in body


def test_model_lines_and_per_class_table() -> None:
    lines = model_lines(V2, METADATA)
    assert lines[0] == f"*Model:* `{V2}`"
    assert lines[1] == "*Labels (3):* `negative`, `neutral`, `positive`"
    assert lines[2] == "*Held-out eval:* accuracy 90.0%, macro-F1 88.0% on 30 held-out rows"
    assert lines[3] == "*Trained:* 2026-01-02T00:00:00+00:00 on 80 rows"
    many = model_lines(V2, {"labels": [f"l{i}" for i in range(45)]})[1]
    assert many.startswith("*Labels (45):*") and many.endswith(" and 5 more")
    table = per_class_table(METADATA["metrics"]["per_class"])
    assert table[0] == "label     precision  recall     F1  support"
    assert table[1] == "negative      0.900   0.850  0.870       10"


def test_job_lines_say_how_each_job_ended() -> None:
    promoted, failed = (job_line(j) for j in JOBS)
    assert promoted.startswith(":white_check_mark: #2 2026-01-02 12:03 UTC by <@UADMIN>: ")
    assert f"trained `{V2}`, macro-F1 88.0%; promoted (eval macro-F1" in promoted
    assert failed == (
        ":x: #1 2026-01-02 12:03 UTC by <@UADMIN>: failed: bad.csv:1: missing column 'label'"
    )
    found = job_line(job_record(6, "succeeded", kind="suspects", message="found 3 suspects"))
    assert found == ":mag: #6 2026-01-02 12:03 UTC by <@UADMIN>: suspects run, found 3 suspects"
    kept = job_line(job_record(4, "succeeded", version=V1, promoted=False, message="worse"))
    assert kept.startswith(":heavy_minus_sign: #4") and "not promoted (worse)" in kept
    timed_out = job_line(job_record(5, "timed_out", requested_by=None))
    assert timed_out == ":alarm_clock: #5 2026-01-02 12:03 UTC by someone: timed out"


def test_already_running_names_who_started_it() -> None:
    text = already_running(running_job())
    assert text.startswith(":hourglass: A job is already running (#3, started by <@UADMIN> at ")
    assert "step 5/10" in text
    job = running_job()
    line = running_line(job, now=job.started + timedelta(seconds=90))
    assert "(90s ago)" in line and line.startswith(":arrows_counterclockwise: #3 started by")
    assert f"{job.started.astimezone(UTC):%H:%M:%S} UTC" in line
    assert "(0s ago)" in running_line(job, now=datetime(2000, 1, 1, tzinfo=UTC))


def test_counts_export_texts() -> None:
    counts = {"answers": 1, "corrections": 0, "confirmations": 1, "labelled_rows": 1}
    assert counts_line(counts) == (
        "*Feedback:* 1 answer (1 confirmation, 0 corrections) → 1 labelled row for the next retrain"
    )
    held = {**counts, "held": 2}
    assert counts_line(held).endswith("; 2 messages held for review (labelers disagree)")
    csv_comment, jsonl_comment, _ = export_messages(2)
    assert "2 labelled rows from feedback" in csv_comment
    assert "start with `'`" in csv_comment and "Train on the JSONL" in csv_comment
    assert "python -m training train --data FILE" in jsonl_comment
    assert export_messages(1)[2] == (
        ":incoming_envelope: Sent 1 labelled row as CSV (to read) and JSONL (to train on) "
        "to your DM with Heed."
    )


def test_rolled_back_and_refusal_texts() -> None:
    assert (
        rolled_back(V2, V1, V1) == f":leftwards_arrow_with_hook: Rolled back from `{V2}` to `{V1}`."
    )
    assert "still serves" in rolled_back(V2, V1, V2)
    refused = refusal("not listed in HEED_ADMINS")
    assert "Only Heed admins" in refused and "logged" in refused
    usage = admin_usage()
    for subcommand in ("retrain", "cancel", "versions", "promote VERSION", "forget @user"):
        assert f"`{subcommand.split()[0]}" in usage and subcommand in usage
    assert admin_usage("unknown subcommand 'x'").startswith(":warning: unknown")
    assert "&lt;script&gt;" in admin_usage("<script>")


def test_home_view_has_model_jobs_and_feedback() -> None:
    view = home_view(
        V2,
        METADATA,
        ("C1", "#secret-plans"),
        current=running_job(),
        jobs=JOBS,
        counts={"answers": 2, "corrections": 1, "confirmations": 1, "labelled_rows": 2},
    )
    body = json.dumps(view)
    assert view["type"] == "home" and V2 in body and "`positive`" in body
    assert "macro-F1 88.0%" in body and "<#C1>" in body
    assert "secret-plans" not in body and "<#C1>, 1 channel set by name" in body
    assert "#3 started by" in body and "#2 " in body and "#1 " in body
    assert "2 answers" in body and "/classify" in body
    empty = json.dumps(home_view(None, {}, ()))
    assert "`none`" in empty and "none yet" in empty and "no channels" in empty
    assert "*Feedback:*" not in empty


def test_home_view_stays_within_slacks_100_blocks() -> None:
    jobs = [job_record(i, "failed", message="x" * 280) for i in range(400, 0, -1)]
    view = home_view(V2, METADATA, (), jobs=jobs, details=True)
    assert len(view["blocks"]) <= 100
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in view["blocks"])


def test_the_home_help_names_the_configured_default_method() -> None:
    view = home_view(V2, METADATA, (), explain_method="attention")
    assert "Without it: `attention`, the default here." in json.dumps(view)


def test_failure_details_are_for_admins_only() -> None:
    jobs = [job_record(1, "failed", message="/srv/heed/train.csv:3: empty text")]
    warning = "the current model X cannot be loaded (OSError: /srv/heed/models/X)"
    member = json.dumps(home_view(V2, METADATA, (), jobs=jobs, warning=warning))
    assert "/srv/heed" not in member and FALLBACK_NOTE in member and DETAILS_NOTE in member
    assert ":x: #1" in member
    admin = json.dumps(home_view(V2, METADATA, (), jobs=jobs, warning=warning, details=True))
    assert "train.csv:3: empty text" in admin and "OSError" in admin
    assert DETAILS_NOTE not in admin
