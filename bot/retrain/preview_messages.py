"""The retrain preview: what will go in, and Start / Cancel buttons for admins."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bot.blocks.common import Blocks, plural, sections, who
from bot.slack_api.text import escape_and_shorten

if TYPE_CHECKING:
    from bot.retrain.preview import Preview

START_ACTION = "heed_retrain_start"
CANCEL_ACTION = "heed_retrain_cancel"
PREVIEW_BLOCK_ID = "heed_retrain_preview"
WHO_SHOWN = 10
PROBLEMS_SHOWN = 10


def _labels(counts: Mapping[str, int]) -> str:
    shown = ", ".join(f"{escape_and_shorten(k, 40)} {v}" for k, v in counts.items())
    return shown or "none"


def preview_blocks(preview: Preview) -> tuple[str, Blocks]:
    """The preview as ``(text, blocks)``, with Start (only when the data is valid) and Cancel."""
    serving = f"`{preview.serving}`" if preview.serving else "no model"
    lines = [f"*Retrain preview* (Heed serves {serving} now). This is what would go in:"]
    for f in preview.files:
        name = escape_and_shorten(Path(f.path).name, 80)
        role = {"train": "export", "train-only": "corrections", "eval": "judged on"}.get(
            f.role, f.role
        )
        lines.append(f"• {role} `{name}`: {plural(f.rows, 'row')} ({_labels(f.labels)})")
    report = preview.report
    if report is not None:
        lines.append(f"*Rows:* {report.train_rows} to learn from, {report.eval_rows} to judge on")
        if report.eval_split == "given":
            lines.append("*Judged on:* `HEED_EVAL_DATA` (never corrections)")
        else:
            lines.append("*Judged on:* a held-out split of `HEED_TRAIN_DATA` (never corrections)")
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
    if preview.held:
        lines.append(
            f":hourglass: *Held for review:* {plural(preview.held, 'message')} whose labelers "
            "disagree (left out)"
        )
    if preview.problems:
        shown = preview.problems[:PROBLEMS_SHOWN]
        first = f", the first {len(shown)}" if len(preview.problems) > len(shown) else ""
        lines.append(f":x: *Data problems* ({len(preview.problems)}{first}):")
        lines += [f"• `{escape_and_shorten(str(p), 300)}`" for p in shown]
        lines.append("Fix them before retraining.")
    buttons: list[dict] = []
    if not preview.problems:
        buttons.append(
            {
                "type": "button",
                "action_id": START_ACTION,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Start retraining"},
                "value": preview.task,
            }
        )
    buttons.append(
        {
            "type": "button",
            "action_id": CANCEL_ACTION,
            "text": {"type": "plain_text", "text": "Cancel"},
            "value": "cancel",
        }
    )
    blocks = [
        *sections(lines),
        {"type": "actions", "block_id": PREVIEW_BLOCK_ID, "elements": buttons},
    ]
    return "Retrain preview: what would go in", blocks


PREVIEW_CANCELLED = ":heavy_multiplication_x: Retrain cancelled; nothing was started."
NO_JOB_TO_CANCEL = ":information_source: No retraining job is running."
