"""``/heed-admin suspects`` in Slack: the run's status line, and its list of suspected label
errors with Keep / Change controls (the value of each names the export by its index in the
task's ``HEED_TRAIN_DATA``, never by a path)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.blocks.common import Blocks, plural, section, who
from bot.slack_api.text import escape_and_shorten, escape_mrkdwn

SUSPECTS_ACTION = "suspects"
KEEP_ACTION = "heed_suspect_keep"
CHANGE_ACTION = "heed_suspect_change"
SHOWN = 10
TEXT_CHARS = 300
NOT_REVIEWER = (
    ":no_entry: Only Heed's labelers (`HEED_LABELERS`) and admins in this workspace can review "
    "suspected label errors: they show the training data. This attempt was logged."
)
EXPORT_CHANGED = (
    ":warning: That row is no longer what the run saw (the export changed since): nothing was "
    "recorded. Run `/heed-admin suspects` again."
)


def suspects_progress(job_id: int, requested_by: str | None, progress: str, elapsed: float) -> str:
    """The status message while a run goes on."""
    return (
        f":mag: Looking for suspected label errors, job #{job_id} (requested by "
        f"{who(requested_by)}): {escape_mrkdwn(progress)} · {elapsed:.0f}s"
    )


def describe_suspects_event(event: dict[str, Any], fold: str) -> str:
    """``fold 2/5 · step 12/40`` and the like; ``fold`` is the current ``2/5`` (or "")."""
    kind = event.get("event")
    where = f"fold {fold}" if fold else "starting"
    if kind == "step":
        return f"{where} · step {event.get('step')}/{event.get('total_steps')}"
    if kind == "epoch":
        return f"{where} · epoch {event.get('epoch')} done"
    return f"{where} · fitting on the other folds"


def button_value(task: str, export: int, line: int, given: str, label: str) -> str:
    """A Keep / Change button's value: which row (export index and line) and which label."""
    return json.dumps(
        {"task": task, "export": export, "line": line, "given": given, "label": label}
    )


def parse_button_value(value: str) -> dict[str, Any] | None:
    """:func:`button_value`'s fields, type-checked; None for anything else."""
    try:
        fields = json.loads(value) if len(value) <= 2000 else None
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    kinds = {"task": str, "export": int, "line": int, "given": str, "label": str}
    ok = all(
        isinstance(fields.get(k), t) and not isinstance(fields.get(k), bool)
        for k, t in kinds.items()
    )
    return fields if ok and fields["export"] >= 0 and fields["line"] > 0 else None


def _button(action_id: str, text: str, value: str, **style: str) -> dict:
    label = {"type": "plain_text", "text": escape_and_shorten(text, 70)}
    return {"type": "button", "action_id": action_id, "text": label, "value": value, **style}


def suspects_list(
    task: str, rows: int, suspects: Sequence[Any], exports: Sequence[str]
) -> tuple[str, Blocks]:
    """The run's outcome: the first :data:`SHOWN` suspects, each with Keep / Change when it
    is a row of one of ``exports`` (a trusted correction is relabelled from its message)."""
    if not suspects:
        text = f":white_check_mark: No suspected label errors among {plural(rows, 'row')}."
        return text, [section(text)]
    text = (
        f":mag: {plural(len(suspects), 'suspected label error')} among {plural(rows, 'row')} "
        f"of task `{escape_mrkdwn(task)}`, most suspect first"
    )
    blocks = [
        section(
            f"{text}. *Keep* confirms the label; *Change* relabels the export row "
            "in the next retrain (a trusted correction)."
        )
    ]
    for number, suspect in enumerate(suspects[:SHOWN], start=1):
        name = escape_and_shorten(Path(suspect.file).name, 80)
        given = escape_and_shorten(suspect.given, 60)
        suggested = escape_and_shorten(suspect.suggested, 60)
        quoted = escape_and_shorten(" ".join(suspect.text.split()), TEXT_CHARS)
        blocks.append(
            section(
                f"*{number}.* `{name}:{suspect.line}` · given *{given}* → suggested "
                f"*{suggested}* · score {suspect.score:.2f}\n> {quoted}"
            )
        )
        if suspect.file not in exports:
            continue
        export = list(exports).index(suspect.file)
        keep = button_value(task, export, suspect.line, suspect.given, suspect.given)
        change = button_value(task, export, suspect.line, suspect.given, suspect.suggested)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"heed_suspect_{number}",
                "elements": [
                    _button(KEEP_ACTION, f"Keep {suspect.given}", keep),
                    _button(
                        CHANGE_ACTION, f"Change to {suspect.suggested}", change, style="primary"
                    ),
                ],
            }
        )
    if len(suspects) > SHOWN:
        blocks.append(section(f"…and {len(suspects) - SHOWN} more (review these first)."))
    return text, blocks


def reviewed_line(kept: bool, line: int, given: str, label: str) -> str:
    """The private answer to Keep / Change."""
    if kept:
        return f":white_check_mark: Kept *{escape_mrkdwn(given)}* for line {line}."
    return (
        f":pencil2: Line {line} is now *{escape_mrkdwn(label)}* (was {escape_mrkdwn(given)}): "
        "the next retrain learns it as a trusted correction."
    )
