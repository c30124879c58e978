"""A retraining job in Slack: the status message while it runs, and its outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.admin import per_class_table
from bot.blocks.common import Blocks, code_sections, percent, plural, sections, who
from bot.slack_api.text import escape_and_shorten, escape_mrkdwn

if TYPE_CHECKING:
    from bot.database import JobRecord
    from bot.retrain.contract import TrainResult
    from bot.retrain.jobs import JobResult

IN_DM_NOTE = (
    ":information_source: Heed isn't in this channel, so the retraining progress goes "
    "to your DM with Heed (`/invite @Heed` to follow it here)."
)


def retrain_progress(job_id: int, requested_by: str | None, progress: str, elapsed: float) -> str:
    """The status message while a job runs (updated with ``chat.update``)."""
    return (
        f":arrows_counterclockwise: Retraining job #{job_id} (requested by {who(requested_by)}): "
        f"{escape_mrkdwn(progress)} · {elapsed:.0f}s"
    )


def retrain_started(requested_by: str | None) -> str:
    """The status message as first posted, before the job has an id."""
    return f":hourglass_flowing_sand: Retraining requested by {who(requested_by)}: starting…"


def retrain_failed(result: JobResult, requested_by: str | None, serving: str | None) -> str:
    """One line: which job failed and why, and that the serving model did not change."""
    reason = escape_and_shorten(" ".join((result.reason or "unknown reason").split()), 500)
    tail = "" if "serving model" in reason else f"; the serving model is unchanged (`{serving}`)"
    status = result.status.replace("_", " ")
    return f":x: {who(requested_by)} retraining job #{result.job_id} {status}: {reason}{tail}"


def retrain_interrupted(record: JobRecord, serving: str | None) -> str:
    """One line for a job whose replica died: it is over, nothing was promoted by it."""
    where = f" on replica `{escape_mrkdwn(record.owner)}`" if record.owner else ""
    return (
        f":x: {who(record.requested_by)} retraining job #{record.id} was interrupted: the "
        f"replica running it{where} stopped; no version was promoted by it and the serving "
        f"model is unchanged (`{serving}`). Start it again with `/heed-admin retrain`."
    )


def retrain_finished(result: JobResult, serving: str | None) -> str:
    """The status message's final state after a successful job."""
    train = result.train
    verdict = "promoted and now serving" if train.promoted else "not promoted; still serving"
    now = train.version if train.promoted else serving
    return (
        f":white_check_mark: Retraining job #{result.job_id} finished in {result.seconds:.0f}s: "
        f"`{train.version}` {verdict} `{now}`"
    )


def calibration_line(train: TrainResult) -> str | None:
    """The temperature and held-out ECE before → after, why there is none, or None when the
    run reported no calibration."""
    if train.temperature is None:
        return None
    if not train.calibrated:
        why = " ".join((train.calibration_reason or "unknown").split())
        return (
            f"*Calibration:* none ({escape_and_shorten(why, 200)}); replies show the plain "
            "softmax confidence."
        )
    line = f"*Calibration:* replies show confidences at temperature {train.temperature:.2f}"
    if train.ece_before is not None and train.ece_after is not None:
        line += f" · held-out ECE {percent(train.ece_before)} → {percent(train.ece_after)}"
    return line + "."


def judged_on(train: TrainResult) -> str:
    """Which rows the evaluation and the promotion decision used."""
    split = train.eval_split
    if split == "given":
        return "*Judged on:* `HEED_EVAL_DATA`, the fixed held-out export (never corrections)."
    if split:
        return (
            "*Judged on:* a held-out split of `HEED_TRAIN_DATA` (corrections are used for "
            "training only, never to judge)."
        )
    return "*Judged on:* not reported by the training run."


def evaluation_blocks(
    result: JobResult, requested_by: str | None, serving: str | None, swap_note: str = ""
) -> tuple[str, Blocks]:
    """The evaluation posted after a successful job: accuracy, macro-F1, the per-class table,
    the promotion decision and its reason, which version serves now."""
    train = result.train
    on = f" on {train.eval_rows} held-out rows" if train.eval_rows else ""
    if train.promoted:
        verdict = f":rocket: *Promoted:* Heed now serves `{train.version}`"
    else:
        verdict = f":heavy_minus_sign: *Not promoted:* Heed still serves `{serving}`"
    reason = escape_and_shorten(
        " ".join((train.promotion_reason or "no comparison was made").split()), 500
    )
    lines = [
        f"*Retraining job #{result.job_id}* (requested by {who(requested_by)}) trained "
        f"`{train.version}` in {result.seconds:.0f}s",
        f"*Accuracy:* {percent(train.accuracy)} · *macro-F1:* {percent(train.macro_f1)}{on}",
        f"{verdict} — {reason}",
    ]
    calibration = calibration_line(train)
    if calibration:
        lines.append(calibration)
    lines.append(judged_on(train))
    if result.corrections_rows:
        lines.append(
            f"Included {plural(result.corrections_rows, 'labelled row')} from feedback "
            "(for training only)."
        )
    if swap_note:
        lines.append(swap_note)
    out = sections(lines)
    if train.per_class:
        out += code_sections(per_class_table(train.per_class))
    return result.summary(), out
