"""A retraining job in Slack: the status message while it runs, and its outcome."""

from __future__ import annotations

import json

from bot.retrain.contract import TrainResult
from bot.retrain.jobs import JobResult
from bot.retrain.messages import (
    IN_DM_NOTE,
    evaluation_blocks,
    retrain_failed,
    retrain_finished,
    retrain_progress,
    retrain_started,
)
from tests.bot.blocks.samples import V1, V2, result


def test_evaluation_has_metrics_table_and_the_promotion_decision() -> None:
    text, evaluation = evaluation_blocks(result(), "UADMIN", V2)
    body = json.dumps(evaluation)
    assert text.startswith(f"trained {V2}: accuracy 0.900, macro-F1 0.880; promoted")
    assert "*Accuracy:* 90.0%" in body and "*macro-F1:* 88.0%" in body
    assert "30 held-out rows" in body and "4 labelled rows from feedback" in body
    assert f"*Promoted:* Heed now serves `{V2}`" in body and "not worse than" in body
    assert "```label" in body and "support" in body
    assert "*Judged on:* not reported" in body
    given = json.dumps(evaluation_blocks(result(eval_split="given"), "UADMIN", V2)[1])
    assert "*Judged on:* `HEED_EVAL_DATA`, the fixed held-out export" in given
    split = json.dumps(evaluation_blocks(result(eval_split="stratified 20%"), "UADMIN", V2)[1])
    assert "a held-out split of `HEED_TRAIN_DATA`" in split and "training only" in split
    kept = json.dumps(
        evaluation_blocks(result(promoted=False, promotion={"reason": "worse"}), "UADMIN", V1)[1]
    )
    assert f"*Not promoted:* Heed still serves `{V1}`" in kept and "worse" in kept
    note = json.dumps(evaluation_blocks(result(), "UADMIN", V1, swap_note="could not load")[1])
    assert "could not load" in note
    finished = retrain_finished(result(), V2)
    assert "finished in 12s" in finished and "promoted and now serving" in finished
    assert "not promoted; still serving `" + V1 in retrain_finished(result(promoted=False), V1)


def test_evaluation_shows_the_calibration_or_why_there_is_none() -> None:
    fitted = {"temperature": 1.734, "calibrated": True, "ece_before": 0.12, "ece_after": 0.031}
    blocks = evaluation_blocks(result(calibration=fitted), "UADMIN", V2)[1]
    body = json.dumps(blocks, ensure_ascii=False)
    assert "*Calibration:* replies show confidences at temperature 1.73" in body
    assert "held-out ECE 12.0% → 3.1%" in body
    skipped = {"temperature": 1.0, "calibrated": False, "reason": "3 held-out rows <b>"}
    body = json.dumps(evaluation_blocks(result(calibration=skipped), "UADMIN", V2)[1])
    assert "*Calibration:* none (3 held-out rows &lt;b&gt;); replies show the plain" in body
    for missing in ({}, {"calibration": "junk"}, {"calibration": {"temperature": "x"}}):
        assert "Calibration" not in json.dumps(evaluation_blocks(result(**missing), "U", V2)[1])


def test_a_failure_is_one_line_with_the_reason() -> None:
    stopped = TrainResult(False, "killed", "SIGKILL")
    failed = JobResult(6, "failed", stopped, "bad.csv:1: missing column 'label'\nmore")
    line = retrain_failed(failed, "UADMIN", V1)
    assert "\n" not in line and line.startswith(":x: <@UADMIN> retraining job #6 failed: ")
    assert "missing column 'label'" in line and f"unchanged (`{V1}`)" in line
    timed_out = JobResult(
        7,
        "timed_out",
        stopped,
        reason="timed out after 5s; training was stopped; the serving model is unchanged",
    )
    line = retrain_failed(timed_out, None, V1)
    assert "job #7 timed out: timed out after 5s" in line and line.count("unchanged") == 1
    assert "unknown reason" in retrain_failed(JobResult(8, "failed", stopped), None, V1)


def test_status_message_texts() -> None:
    assert retrain_started("U1") == (
        ":hourglass_flowing_sand: Retraining requested by <@U1>: starting…"
    )
    line = retrain_progress(4, "U1", "epoch 1/2 <b>", 12.4)
    assert line == (
        ":arrows_counterclockwise: Retraining job #4 (requested by <@U1>): "
        "epoch 1/2 &lt;b&gt; · 12s"
    )
    assert "/invite @Heed" in IN_DM_NOTE
