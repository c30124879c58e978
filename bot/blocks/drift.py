"""The drift DM to admins: how far the last week's predictions moved, and a retrain preview."""

from __future__ import annotations

from bot.blocks.common import Blocks, context, percent, section
from bot.slack_api.text import escape_and_shorten
from classifier.drift import DriftReading

PREVIEW_ACTION = "heed_retrain_preview"
"""The alert's button: the ``/heed-admin retrain`` preview of the task named in its value."""


def drift_alert(reading: DriftReading, queue_size: int) -> tuple[str, Blocks]:
    """The fallback text and blocks of one task's drift DM."""
    task = escape_and_shorten(reading.task, 60)
    text = (
        f"Heed's predictions for `{task}` have drifted from what version {reading.version} "
        f"was judged on"
    )
    lines = [
        f":chart_with_downwards_trend: *{text}.*",
        f"Last {reading.window_days} days: {reading.rows} predictions, against "
        f"{reading.reference_rows} held-out rows at training.",
        f"• label mix: PSI *{reading.labels_psi:.3f}*",
        f"• confidence: PSI *{reading.confidence_psi:.3f}* (alert at {reading.floor:.3f} and "
        "above, when past what chance gives this many messages)",
    ]
    mix = ", ".join(
        f"{escape_and_shorten(label, 40)} {percent(then)} → {percent(now)}"
        for label, (then, now) in reading.shares.items()
    )
    lines.append(f"• labels then → now: {mix}")
    lines.append(f"The labelling queue holds {queue_size} open items for this task.")
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Preview a retrain"},
        "action_id": PREVIEW_ACTION,
        "value": reading.task,
    }
    blocks = [
        section("\n".join(lines)),
        {"type": "actions", "elements": [button]},
        context("At most one such message a week per task; docs/operations.md, Drift."),
    ]
    return text, blocks
