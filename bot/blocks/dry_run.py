"""The ``/heed-admin dry-run`` wording: progress, the report (label distribution, what each
threshold would tag, notify and abstain on, examples per label) and why it could not run."""

from __future__ import annotations

from bot.blocks.common import (
    LABEL_CHARS,
    Blocks,
    bar,
    code_sections,
    context,
    percent,
    section,
    sections,
)
from bot.dry_run import THRESHOLDS, Outcomes, Tally
from bot.slack_api.text import escape_and_shorten, shorten

EXAMPLE_CHARS = 200
EXAMPLE_LABELS = 12  # Slack allows 50 blocks a message: the most frequent labels' examples
DRY_RUN_USAGE = (
    "`/heed-admin dry-run #channel [--days N | --messages N] [--heatmaps] [TASK]` reads the "
    "channel's history and says what Heed would have done, without acting or storing texts."
)


def started_line(channel: str, task: str, most: int, days: int | None) -> str:
    """The first private answer: what is being read."""
    since = f" from the last {days} day{'s' * (days != 1)}" if days else ""
    return (
        f":hourglass_flowing_sand: Dry run of <#{channel}> with task `{task}`: reading up to "
        f"{most} messages{since}. Nothing will be tagged or stored."
    )


def progress_line(read: int, classified: int) -> str:
    """A private progress note while pages are read."""
    return f":hourglass_flowing_sand: Read {read} messages so far, {classified} classified…"


def unreadable_line(channel: str, error: str | None) -> str:
    """Why the channel's history could not be read."""
    if error in ("not_in_channel", "channel_not_found"):
        why = "Heed is not a member: `/invite @Heed` there first"
    elif error == "missing_scope":
        why = "the app lacks the `channels:history` / `groups:history` scope"
    else:
        why = f"Slack said `{shorten(error or 'error', 60)}`"
    return f":warning: Heed can't read <#{channel}>'s history: {why}. Nothing was classified."


def no_model_line(task: str) -> str:
    """The task has no model to classify with."""
    return f":warning: Task `{task}` has no model yet (`/heed-admin retrain {task}`): no dry run."


def _outcome_row(name: str, outcome: Outcomes) -> str:
    return f"{name:<10} {outcome.tagged:>7} {outcome.notified:>9} {outcome.abstained:>10}"


def threshold_table(tally: Tally) -> list[str]:
    """What the task's settings, then each threshold in :data:`THRESHOLDS` (as every label's
    threshold and ``abstain_below`` at once), would tag, notify and abstain on."""
    rows = [f"{'threshold':<10} {'tagged':>7} {'notified':>9} {'abstained':>10}"]
    rows.append(_outcome_row("now", tally.now()))
    rows += [_outcome_row(f"{t:.2f}", tally.at(t)) for t in THRESHOLDS]
    return rows


def distribution(tally: Tally) -> list[str]:
    """One line per label, most frequent first: count, share and a bar."""
    total = max(1, tally.classified)
    width = max(len(shorten(label, 28)) for label in tally.labels)
    return [
        f"{shorten(label, 28):<{width}} {count:>6} {percent(count / total):>6} {bar(count / total)}"
        for label, count in tally.labels.most_common()
    ]


def report(tally: Tally, channel: str, model: str, read: int) -> tuple[str, Blocks]:
    """The dry run's report (private): counts, distribution, threshold table, examples."""
    task = tally.task
    if not tally.classified:
        text = (
            f":information_source: Dry run of <#{channel}>: read {read} messages, none a person "
            "wrote with text, so nothing was classified."
        )
        return text, [section(text)]
    text = (
        f":bar_chart: Dry run of <#{channel}> with task `{task.name}` (model `{model}`): "
        f"{tally.classified} of {read} messages classified ({tally.skipped} skipped: bots, "
        "joins, no text). Nothing was tagged or stored."
    )
    now = (
        f"`now` is this task's settings (mode `{task.mode}`, abstain below "
        f"{task.abstain_below:.2f}, threshold {task.threshold.default:.2f}"
        f"{' with per-label values' if task.threshold.labels else ''}); each other row uses "
        "that number as every label's threshold and as `abstain_below`. Tagged: a reaction; "
        "notified: a notify label at or above it (thread note, review post)."
    )
    blocks: Blocks = [
        section(text),
        section("*Labels*"),
        *code_sections(distribution(tally)),
        section("*What each threshold would do*"),
        *code_sections(threshold_table(tally)),
        context(now),
        section("*Examples*"),
    ]
    lines = []
    for label, _ in tally.labels.most_common(EXAMPLE_LABELS):
        name = escape_and_shorten(label, LABEL_CHARS)
        for example in tally.examples(label):
            quote = escape_and_shorten(" ".join(example.text.split()), EXAMPLE_CHARS)
            lines.append(f"• *{name}* {example.confidence:.2f} — _{quote}_")
    return text, blocks + sections(lines)
