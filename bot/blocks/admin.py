"""The model and its jobs as admins and App Home show them: the ``/heed-admin`` surface (help,
refusals, status, job lines, promote and rollback) and the App Home view."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.blocks.classify import usage_text
from bot.blocks.common import (
    LABEL_CHARS,
    Blocks,
    code_sections,
    context,
    percent,
    plural,
    section,
    sections,
    utc,
    who,
)
from bot.slack_api.text import escape_and_shorten, escape_mrkdwn, shorten
from classifier.types import DEFAULT_EXPLAIN_METHOD

if TYPE_CHECKING:
    from bot.database import JobRecord
    from bot.database.records import RunningJob

ADMIN_USAGE = (
    "Usage: `/heed-admin retrain | cancel | status | versions | promote VERSION | rollback | "
    "export | queue | agreement | suspects | shadow | forget @user | dry-run #channel | help`\n"
    "• `retrain` — preview what a retrain would learn from (exports, corrections and who gave "
    "them, held rows, data problems), then *Start* it: a new model, with progress here, "
    "promoted only if it is not worse than the serving model on trusted rows\n"
    "• `cancel` — stop the running retrain (the serving model stays)\n"
    "• `status` — the serving model, its labels and metrics, the running job, the last jobs\n"
    "• `versions` — the model versions in the store, newest first\n"
    "• `promote VERSION` — serve that version\n"
    "• `rollback` — serve the previously promoted model again\n"
    "• `export` — the labelled rows, sent to you by DM as CSV (to read) and JSONL (to train on)\n"
    "• `queue` — the recent messages Heed was least sure about, with label controls (labelers "
    "and admins); suggested and appealed ones first\n"
    "• `agreement` — how far labelers agree on the messages two of them answered: Cohen's "
    "kappa by pair, Fleiss' kappa, each labeler against the consensus, the least agreed labels\n"
    "• `suspects` — look for label errors in the training data (a few minutes), then Keep or "
    "Change the top rows; a change relabels the export row in the next retrain (labelers and "
    "admins)\n"
    "• `forget @user` — delete that person's texts and answers (database and kept exports)\n"
    "• `shadow VERSION` — VERSION predicts beside the serving model on every message and acts "
    "on nothing; `shadow` reports how they differ (Promote / Stop); `shadow stop`\n"
    "• `dry-run #channel [--days N | --messages N] [--heatmaps] [TASK]` — classify the "
    "channel's history without acting or storing texts: the labels, what each threshold would "
    "tag, notify and abstain on, examples (`--heatmaps`: their heatmaps by DM)\n"
    "With several tasks, `retrain`, `cancel`, `status`, `versions`, `promote`, `rollback`, "
    "`export`, `queue`, `agreement` and `suspects` take the task first "
    "(`/heed-admin versions support`); without one they act on the default task."
)
MAX_VERSIONS_SHOWN = 15

NOTHING_TO_TRAIN = (
    ":information_source: Nothing to train on: `HEED_TRAIN_DATA` names no export and no "
    "feedback has been recorded yet. Set `HEED_TRAIN_DATA` to a labelled CSV/TSV/JSONL "
    "export, or answer some `/classify` replies first."
)
NO_LABELLED_ROWS = (
    ":information_source: No labelled rows yet: answers to the ✓ Correct / "
    "Actually it's… controls on `/classify` replies become rows."
)
JOB_ICONS = {
    "running": ":arrows_counterclockwise:",
    "queued": ":hourglass:",
    "failed": ":x:",
    "timed_out": ":alarm_clock:",
    "cancelled": ":no_entry_sign:",
}


def admin_usage(error: str | None = None) -> str:
    """The ``/heed-admin`` help, optionally after a one-line ``error``."""
    head = f":warning: {escape_mrkdwn(error)}\n" if error else ""
    return head + ADMIN_USAGE


def refusal(reason: str) -> str:
    """What a non-admin sees."""
    return (
        ":no_entry: Only Heed admins can use `/heed-admin` "
        f"({escape_and_shorten(reason, 200)}). This attempt was logged."
    )


def model_lines(version: str | None, metadata: Mapping[str, Any]) -> list[str]:
    """Serving version, labels, held-out metrics and training rows, as mrkdwn lines."""
    lines = [f"*Model:* `{version or 'none'}`"]
    labels = list(metadata.get("labels") or [])
    if labels:
        shown = ", ".join(f"`{escape_and_shorten(label, LABEL_CHARS)}`" for label in labels[:40])
        more = f" and {len(labels) - 40} more" if len(labels) > 40 else ""
        lines.append(f"*Labels ({len(labels)}):* {shown}{more}")
    metrics = metadata.get("metrics") or {}
    if "accuracy" in metrics and "macro_f1" in metrics:
        rows = (metadata.get("rows") or {}).get("eval")
        on = f" on {rows} held-out rows" if rows else ""
        lines.append(
            f"*Held-out eval:* accuracy {percent(metrics['accuracy'])}, "
            f"macro-F1 {percent(metrics['macro_f1'])}{on}"
        )
    if metadata.get("created"):
        train = (metadata.get("rows") or {}).get("train")
        rows_note = f" on {train} rows" if train else ""
        lines.append(f"*Trained:* {escape_mrkdwn(str(metadata['created']))}{rows_note}")
    return lines


def per_class_table(per_class: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A fixed-width table (label, precision, recall, F1, support), one line per class."""
    width = max([len("label")] + [len(shorten(label, 28)) for label in per_class])
    lines = [f"{'label':<{width}}  precision  recall     F1  support"]
    for label, m in per_class.items():
        lines.append(
            f"{shorten(label, 28):<{width}}  {m.get('precision', 0):>9.3f}  "
            f"{m.get('recall', 0):>6.3f}  {m.get('f1', 0):>5.3f}  {int(m.get('support', 0)):>7}"
        )
    return lines


def job_line(job: JobRecord, details: bool = True) -> str:
    """One job: when, who, outcome; ``details=False`` leaves out its message (a failure's
    reason may name server paths or lines of the training data)."""
    when = utc(job.finished or job.started or job.created)
    head = f"#{job.id} {when} by {who(job.requested_by)}"
    message = escape_and_shorten(" ".join((job.message or "").split()), 300) if details else ""
    if job.status == "succeeded" and job.kind == "suspects":
        return f":mag: {head}: suspects run" + (f", {message}" if message else "")
    if job.status == "succeeded":
        icon = ":white_check_mark:" if job.promoted else ":heavy_minus_sign:"
        f1 = (job.metrics or {}).get("macro_f1")
        score = f", macro-F1 {percent(f1)}" if isinstance(f1, int | float) else ""
        verdict = "promoted" if job.promoted else "not promoted"
        return f"{icon} {head}: trained `{job.version}`{score}; {verdict}" + (
            f" ({message})" if message else ""
        )
    icon = JOB_ICONS.get(job.status, ":grey_question:")
    return f"{icon} {head}: {job.status.replace('_', ' ')}" + (f": {message}" if message else "")


def running_line(job: RunningJob, now: datetime | None = None) -> str:
    """The running job: who started it, when, and its newest progress."""
    now = now or datetime.now(UTC)
    elapsed = max(0.0, (now - job.started).total_seconds())
    return (
        f":arrows_counterclockwise: #{job.id} started by {who(job.requested_by)} at "
        f"{job.started.astimezone(UTC):%H:%M:%S} UTC ({elapsed:.0f}s ago): {job.progress_text()}"
    )


def already_running(job: RunningJob) -> str:
    """The answer to a second ``retrain`` while one runs."""
    return (
        f":hourglass: A job is already running (#{job.id}, started by {who(job.requested_by)} "
        f"at {job.started.astimezone(UTC):%H:%M:%S} UTC): {job.progress_text()}. "
        "Try again when it has finished."
    )


def counts_line(counts: Mapping[str, int]) -> str:
    """Feedback so far, the labelled rows the next retrain adds, the held ones."""
    held = counts.get("held", 0)
    return (
        f"*Feedback:* {plural(counts.get('answers', 0), 'answer')} "
        f"({plural(counts.get('confirmations', 0), 'confirmation')}, "
        f"{plural(counts.get('corrections', 0), 'correction')}) → "
        f"{plural(counts.get('labelled_rows', 0), 'labelled row')} for the next retrain"
        + (f"; {plural(held, 'message')} held for review (labelers disagree)" if held else "")
    )


def status_blocks(
    version: str | None,
    metadata: Mapping[str, Any],
    *,
    current: RunningJob | None,
    jobs: Sequence[JobRecord],
    counts: Mapping[str, int] | None = None,
    train_data: Sequence[str] = (),
    task: str | None = None,
) -> tuple[str, Blocks]:
    """``/heed-admin status`` of ``task`` (named in the header when given)."""
    title = f"Heed status · {task}" if task else "Heed status"
    out: Blocks = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    out += sections(model_lines(version, metadata))
    per_class = (metadata.get("metrics") or {}).get("per_class") or {}
    if per_class:
        out += code_sections(per_class_table(per_class))
    out.append(
        section("*Running job:* " + (running_line(current) if current is not None else "none"))
    )
    history = [job_line(j) for j in jobs if current is None or j.id != current.id]
    out += sections(["*Last jobs:*", *(history or ["none yet"])])
    notes = [counts_line(counts)] if counts is not None else []
    data = ", ".join(f"`{escape_and_shorten(p, 80)}`" for p in train_data) or "none"
    notes.append(f"*{'train_data' if task else 'HEED_TRAIN_DATA'}:* {data}")
    out.append(context(*notes))
    what = f"task {task}: " if task else ""
    return f"Heed is serving {what}model {version or 'none'}", out


def _unless_serving(version: str, serving: str | None) -> str:
    return "" if serving == version else f" (but the bot still serves `{serving}`: see its log)"


def rolled_back(previous: str, target: str, serving: str | None) -> str:
    """The answer to ``rollback`` (said in the channel)."""
    note = _unless_serving(target, serving)
    return f":leftwards_arrow_with_hook: Rolled back from `{previous}` to `{target}`{note}."


def promoted_line(version: str, serving: str | None) -> str:
    """The answer to ``promote VERSION`` (said in the channel)."""
    return (
        f":arrow_up: Promoted `{version}`: Heed serves it now{_unless_serving(version, serving)}."
    )


def versions_lines(
    versions: Sequence[str], current: str | None, metadata: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The store's versions, newest first, with their metrics."""
    lines = [f"*Model versions* ({len(versions)}; `promote VERSION` serves one):"]
    for version in list(reversed(versions))[:MAX_VERSIONS_SHOWN]:
        meta = metadata.get(version) or {}
        f1 = (meta.get("metrics") or {}).get("macro_f1")
        score = f"macro-F1 {percent(f1)}" if isinstance(f1, int | float) else "no metrics"
        mark = " :arrow_left: serving" if version == current else ""
        lines.append(f"• `{version}` — {score}{mark}")
    if len(versions) > MAX_VERSIONS_SHOWN:
        lines.append(f"… and {len(versions) - MAX_VERSIONS_SHOWN} older")
    return lines


def forgotten_line(user: str, predictions: int, answers: int, lines: int) -> str:
    """The answer to ``forget``."""
    return (
        f":wastebasket: Forgot <@{user}>: deleted {plural(predictions, 'text')} they wrote "
        f"(with every answer about them), {plural(answers, 'answer')} they gave and "
        f"{plural(lines, 'line')} of the kept exports. Models already trained are unchanged; "
        "files sent to people before (exports by DM) are theirs to delete."
    )


def export_messages(rows: int) -> tuple[str, str, str]:
    """The comments posted with the exported CSV (for people) and JSONL (for training), and
    the admin's confirmation that both are in their DM."""
    return (
        f"{plural(rows, 'labelled row')} from feedback (`text,label`: the labelers' and "
        "admins' label when they agree, else the asker's; held rows left out). For reading: "
        "cells a spreadsheet could run as a formula start with `'`. Train on the JSONL file.",
        f"The same {plural(rows, 'labelled row')} with the exact texts, one JSON object per "
        "line: a valid training export (`python -m training train --data FILE`).",
        f":incoming_envelope: Sent {plural(rows, 'labelled row')} as CSV (to read) and JSONL "
        "(to train on) to your DM with Heed.",
    )


FALLBACK_NOTE = (
    "Heed is serving an earlier model version because the current one cannot be loaded; "
    "admins see why here and in `/heed-admin status`."
)
DETAILS_NOTE = "_Why a job failed is shown to Heed admins only (`/heed-admin status`)._"


def home_view(
    version: str | None,
    metadata: Mapping[str, Any],
    autotag: Sequence[str],
    *,
    current: RunningJob | None = None,
    jobs: Sequence[JobRecord] = (),
    counts: Mapping[str, int] | None = None,
    warning: str | None = None,
    explain_method: str = DEFAULT_EXPLAIN_METHOD,
    details: bool = False,
    task: str | None = None,
    other_tasks: Sequence[Sequence[str]] = (),
    task_names: Sequence[str] = (),
    agreement: str | None = None,
) -> dict:
    """The App Home view: the default task, the others, the jobs, how to use Heed. Failure
    reasons (server paths, lines of training data) only with ``details``, for an admin."""
    lines = model_lines(version, metadata)
    if task:
        lines.insert(0, f"*Task `{escape_and_shorten(task, 40)}`* (the default)")
    if warning:
        shown = escape_and_shorten(warning, 600) if details else FALLBACK_NOTE
        lines.insert(0, f":warning: {shown}")
    lines.append(autotag_line(autotag))
    if counts is not None:
        lines.append(counts_line(counts))
    if agreement:
        lines.append(agreement)
    view_blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Heed"}},
        *sections(lines),
        {"type": "divider"},
    ]
    for other in other_tasks:
        view_blocks += [*sections(list(other)), {"type": "divider"}]
    job_lines = [running_line(current)] if current is not None else []
    job_lines += [job_line(j, details) for j in jobs if current is None or j.id != current.id]
    if jobs and not details:
        job_lines.append(DETAILS_NOTE)
    view_blocks += sections(["*Retraining jobs*", *(job_lines or ["none yet"])])
    view_blocks += [{"type": "divider"}, section(usage_text(explain_method, task_names))]
    return {"type": "home", "blocks": view_blocks[:100]}


def autotag_line(channels: Sequence[str]) -> str:
    """Where auto-tagging is on: a ``<#ID>`` link per channel ID (Slack shows a private
    channel's name only to its members) and, never written out, how many are set by name."""
    where = [f"<#{c}>" for c in channels if not c.startswith("#")]
    named = sum(c.startswith("#") for c in channels)
    if named:
        where.append(f"{plural(named, 'channel')} set by name")
    return f"*Auto-tagging:* {', '.join(where) or 'no channels'}"


def task_lines(
    name: str,
    version: str | None,
    metadata: Mapping[str, Any],
    channels: Sequence[str],
    last_job: JobRecord | None,
    details: bool = False,
) -> list[str]:
    """One more task on App Home: its model, labels and metrics, channels and last job."""
    last = job_line(last_job, details) if last_job is not None else "none yet"
    return [
        f"*Task `{escape_and_shorten(name, 40)}`*",
        *model_lines(version, metadata),
        autotag_line(channels),
        f"*Last retrain:* {last}",
    ]
