"""The labelling queue: the least-certain messages, each with the feedback controls (answered
like any correction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.blocks.common import LABEL_CHARS, Blocks, context, percent, section, utc, who
from bot.blocks.feedback import feedback_actions
from bot.slack_api.text import escape_and_shorten

if TYPE_CHECKING:
    from bot.database.queue import QueuedItem

QUEUE_CONTROLS_PREFIX = "heed_queue_"  # + prediction id: a note goes above the controls used
QUEUE_HEAD_BLOCK_ID = "heed_queue_head"
TEXT_CHARS = 280
QUEUE_SHOWN = 5  # items per answer and per digest (3 blocks each: Slack allows 50)


def controls_id(prediction_id: int) -> str:
    """The block id of one queue item's label controls."""
    return f"{QUEUE_CONTROLS_PREFIX}{prediction_id}"


def is_queue_controls(block_id: str | None) -> bool:
    """True for a queue item's controls block (not the head, not a note)."""
    rest = (block_id or "").removeprefix(QUEUE_CONTROLS_PREFIX)
    return rest != (block_id or "") and rest.isdigit()


def _where(item: QueuedItem) -> str:
    p = item.prediction
    channel = f" in <#{p.channel}>" if p.channel and p.channel[:1] in "CG" else ""
    if p.source == "autotag":
        return f"auto-tagged message by {who(p.user)}{channel}"
    return f"`/classify` by {who(p.user)}{channel}"


def item_blocks(item: QueuedItem, position: int) -> Blocks:
    """One item: its text, Heed's label and confidence, how unsure, where from, the controls."""
    p = item.prediction
    text = escape_and_shorten(" ".join(p.text.split()), TEXT_CHARS)
    label = escape_and_shorten(p.label, LABEL_CHARS)
    return [
        section(f"*{position}.* {text}"),
        context(
            f"Heed said *{label}* ({percent(p.confidence or 0.0)} confidence) · "
            f"uncertainty {item.uncertainty:.2f} · {_where(item)} · {utc(p.created)}"
        ),
        feedback_actions(p.id, p.label, list(p.scores) or [p.label], controls_id(p.id)),
    ]


def queue_message(
    task: str, items: Sequence[QueuedItem], *, digest: bool = False, note: str | None = None
) -> tuple[str, Blocks]:
    """The queue of ``task``, most uncertain first (``digest``: worded as the scheduled DM;
    ``note``: a line above, e.g. the answer just recorded)."""
    blocks: Blocks = [context(note)] if note else []
    if not items:
        text = (
            f":white_check_mark: Heed's labelling queue for `{task}` is empty: nothing it was "
            "unsure about is waiting for a label."
        )
        return text, [*blocks, section(text)]
    lead = "Your labelling digest" if digest else "Heed's labelling queue"
    text = (
        f":mag: {lead} for `{task}`: the {len(items)} recent message"
        f"{'s' * (len(items) != 1)} Heed was least sure about, most uncertain first. "
        "Confirm or correct each: your answer counts like any correction, and an answered "
        "message leaves the queue."
    )
    blocks.append({**section(text), "block_id": QUEUE_HEAD_BLOCK_ID})
    for position, item in enumerate(items, 1):
        blocks.extend(item_blocks(item, position))
    return text, blocks


NOT_A_LABELER = (
    ":no_entry: Only Heed's labelers (`HEED_LABELERS`) and admins in this workspace can see the "
    "labelling queue: it holds people's messages. This attempt was logged."
)
QUEUE_ACTION = "queue"  # the subcommand, and its action in the audit log
