"""``/heed-admin shadow``: a shadow version's report (agreement, flip table, accuracy on the
messages people labelled, a few disagreements) with Promote and Stop, and its one-liners."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.blocks.common import Blocks, context, percent, sections
from bot.slack_api.text import escape_and_shorten

SHADOW_COMMAND = "shadow"
PROMOTE_ACTION = "heed_shadow_promote"
STOP_ACTION = "heed_shadow_stop"
DISAGREEMENTS_SHOWN = 5
SHADOW_USAGE = (
    "Usage: `/heed-admin shadow VERSION [TASK]` — predict with VERSION beside the serving "
    "model on every `/classify` and auto-tag, acting on nothing; `/heed-admin shadow [TASK]` — "
    "its report; `/heed-admin shadow stop [TASK]`"
)


@dataclass(frozen=True)
class ShadowSummary:
    """What a shadow saw, next to the serving version."""

    task: str
    version: str
    serving: str | None
    seen: int
    agreed: int
    flips: Counter[tuple[str, str]]
    """(serving label, shadow label) -> messages, for the ones they disagreed on."""
    labelled: int
    serving_right: int
    shadow_right: int
    disagreements: list[tuple[str, str, str]]
    """(text, serving label, shadow label), newest first."""


def button_value(task: str, version: str) -> str:
    """The Promote / Stop buttons' value: the report's task and version."""
    return f"{task}|{version}"


def shadow_report(summary: ShadowSummary) -> tuple[str, Blocks]:
    """The report's fallback text and blocks."""
    s = summary
    head = f"Shadow `{s.version}` of task `{escape_and_shorten(s.task, 60)}`"
    text = f"{head}: {s.seen} messages seen"
    lines = [f":busts_in_silhouette: *{head}* beside `{s.serving or 'nothing'}`"]
    if not s.seen:
        lines.append("No messages seen yet: it predicts on the next `/classify` or auto-tag.")
    else:
        lines.append(
            f"*Seen:* {s.seen} messages · *agreement:* {percent(s.agreed / s.seen)} "
            f"({s.agreed} of {s.seen})"
        )
        if s.labelled:
            lines.append(
                f"*On the {s.labelled} messages people labelled:* serving "
                f"{percent(s.serving_right / s.labelled)} right, shadow "
                f"{percent(s.shadow_right / s.labelled)} right"
            )
        else:
            lines.append("*Accuracy:* no message it saw has a trusted answer yet")
        if s.flips:
            lines.append("*Flips* (serving → shadow):")
            lines += [
                f"• {escape_and_shorten(a, 40)} → {escape_and_shorten(b, 40)}: {n}"
                for (a, b), n in s.flips.most_common()
            ]
        if s.disagreements:
            lines.append("*Disagreements* (newest first):")
            lines += [
                f"• “{escape_and_shorten(t, 150)}” — {escape_and_shorten(a, 40)} / "
                f"{escape_and_shorten(b, 40)}"
                for t, a, b in s.disagreements
            ]
    value = button_value(s.task, s.version)
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Promote"},
            "style": "primary",
            "action_id": PROMOTE_ACTION,
            "value": value,
        },
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Stop shadowing"},
            "action_id": STOP_ACTION,
            "value": value,
        },
    ]
    blocks = [
        *sections(lines),
        {"type": "actions", "elements": buttons},
        context("A shadow predicts beside the serving model and acts on nothing."),
    ]
    return text, blocks


def shadow_started(task: str, version: str, serving: str | None) -> str:
    """The answer to ``shadow VERSION``."""
    return (
        f":busts_in_silhouette: `{version}` now shadows `{serving or 'nothing'}` for task "
        f"`{escape_and_shorten(task, 60)}`: it predicts beside it on every `/classify` and "
        "auto-tag on every replica, and acts on nothing. `/heed-admin shadow` reports."
    )


def no_shadow(task: str) -> str:
    """The answer when ``task`` has no shadow."""
    return f"No version shadows task `{escape_and_shorten(task, 60)}`. " + SHADOW_USAGE


def shadow_stopped(task: str, version: str) -> str:
    """The answer to ``shadow stop`` or the Stop button."""
    return f":stop_button: `{version}` no longer shadows task `{escape_and_shorten(task, 60)}`."
