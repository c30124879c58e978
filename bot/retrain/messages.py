"""A retrain in Slack: the preview with Start / Cancel, the job's status message, its outcome."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bot.blocks.admin import per_class_table
from bot.blocks.agreement import low_agreement_warning
from bot.blocks.common import Blocks, code_sections, percent, plural, sections, who
from bot.slack_api.text import escape_and_shorten, escape_mrkdwn

if TYPE_CHECKING:
    from bot.database import JobRecord
    from bot.retrain.contract import TrainResult
    from bot.retrain.jobs import JobResult, Preview

START_ACTION = "heed_retrain_start"
CANCEL_ACTION = "heed_retrain_cancel"
SHADOW_START_ACTION = "heed_retrain_shadow"
"""The preview's "Start as shadow": train, never promote, and shadow the serving version."""
PREVIEW_BLOCK_ID = "heed_retrain_preview"
WHO_SHOWN = 10
PROBLEMS_SHOWN = 10
ROLE_NAMES = {
    "train": "export",
    "train-only": "corrections",
    "overrides": "reviewed suspects (relabelling export rows)",
    "eval": "judged on",
}
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


def judged_on(split: str | None) -> str:
    """Which rows the evaluation and the promotion decision use (``eval_split``)."""
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
    """The evaluation posted after a successful job, with the promotion decision and why."""
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
    lines += filter(None, [calibration_line(train), judged_on(train.eval_split)])
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


def _button(action_id: str, text: str, value: str, **style: str) -> dict:
    label = {"type": "plain_text", "text": text}
    return {"type": "button", "action_id": action_id, "text": label, "value": value, **style}


def _labels(counts: Mapping[str, int]) -> str:
    shown = ", ".join(f"{escape_and_shorten(k, 40)} {v}" for k, v in counts.items())
    return shown or "none"


def preview_blocks(preview: Preview) -> tuple[str, Blocks]:
    """The preview as ``(text, blocks)``, with Start (only when the data is valid) and Cancel."""
    serving = f"`{preview.serving}`" if preview.serving else "no model"
    lines = [f"*Retrain preview* (Heed serves {serving} now). This is what would go in:"]
    report = preview.report
    for f in report.files if report is not None else ():
        name = escape_and_shorten(Path(f.path).name, 80)
        role = ROLE_NAMES.get(f.role, f.role)
        lines.append(f"• {role} `{name}`: {plural(f.rows, 'row')} ({_labels(f.labels)})")
    if report is not None:
        lines.append(f"*Rows:* {report.train_rows} to learn from, {report.eval_rows} to judge on")
        lines.append(judged_on(report.eval_split))
    since = f"since {serving} was trained" if preview.serving else "so far"
    fresh = sum(preview.new_labels.values())
    lines.append(
        f"*From feedback:* {plural(preview.corrections, 'labelled row')} in all; "
        f"{fresh} new {since} ({_labels(preview.new_labels)})"
    )
    if preview.new_by:
        people = list(preview.new_by.items())
        shown = ", ".join(f"{who(user)} {n}" for user, n in people[:WHO_SHOWN])
        more = f" and {len(people) - WHO_SHOWN} more" if len(people) > WHO_SHOWN else ""
        lines.append(f"*Given by:* {shown}{more}")
    if preview.suspects_found is not None:
        lines.append(
            f":mag: *Suspected label errors:* the last `/heed-admin suspects` run found "
            f"{plural(preview.suspects_found, 'row')}; a reviewed one relabels its export row"
        )
    if preview.held:
        lines.append(
            f":hourglass: *Held for review:* {plural(preview.held, 'message')} whose labelers "
            "disagree (left out)"
        )
    warning = low_agreement_warning(preview.low_agreement)
    if warning:
        lines.append(warning)
    if preview.problems:
        shown = preview.problems[:PROBLEMS_SHOWN]
        first = f", the first {len(shown)}" if len(preview.problems) > len(shown) else ""
        lines.append(f":x: *Data problems* ({len(preview.problems)}{first}):")
        lines += [f"• `{escape_and_shorten(str(p), 300)}`" for p in shown]
        lines.append("Fix them before retraining.")
    start = _button(START_ACTION, "Start retraining", preview.task, style="primary")
    shadow = _button(SHADOW_START_ACTION, "Start as shadow", preview.task)
    starts = [] if preview.problems else [start, shadow]
    buttons = [*starts, _button(CANCEL_ACTION, "Cancel", "cancel")]
    actions = {"type": "actions", "block_id": PREVIEW_BLOCK_ID, "elements": buttons}
    return "Retrain preview: what would go in", [*sections(lines), actions]


PREVIEW_CANCELLED = ":heavy_multiplication_x: Retrain cancelled; nothing was started."
NO_JOB_TO_CANCEL = ":information_source: No retraining job is running."
