"""The feedback controls (under a ``/classify`` reply, an auto-tag note, each labelling-queue
item), the note of who answered what, and the labelling queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.blocks.common import LABEL_CHARS, Blocks, context, percent, section, utc, who
from bot.database.labels import is_suggestion, resolve
from bot.database.queue import QUEUE_FIRST
from bot.slack_api.text import defang, escape_and_shorten, shorten

if TYPE_CHECKING:
    from bot.database import Answer, Prediction
    from bot.database.queue import QueuedItem

FEEDBACK_BLOCK_ID = "heed_feedback"
FEEDBACK_NOTE_BLOCK_ID = f"{FEEDBACK_BLOCK_ID}_note"  # each set of controls: its id + "_note"
CONFIRM_ACTION = "heed_feedback_confirm"
CORRECT_ACTION = "heed_feedback_correct"
MAX_OPTIONS = 100
OPTION_TEXT_CHARS = 75
NOTE_ANSWERS = 10
HELD_LINE = (
    ":hourglass: Labelers disagree: this message is held for review and not trained on "
    "until they agree."
)


def choice_value(prediction_id: int, label: str, index: int) -> str:
    """``"<id>:<label>"``, or ``"<id>#<index>"`` when too long for Slack's 150 characters."""
    value = f"{prediction_id}:{label}"
    return value if len(value) <= 150 else f"{prediction_id}#{index}"


def parse_choice(value: str) -> tuple[int, str | int]:
    """Inverse of :func:`choice_value` and of the confirm button's ``"<id>"``; ValueError for
    anything else."""
    head, sep, tail = value.partition(":")
    if sep:
        return int(head), tail
    head, sep, tail = value.partition("#")
    if sep:
        return int(head), int(tail)
    return int(value), ""


def _plain(text: str, emoji: bool = False) -> dict:
    return {"type": "plain_text", "text": text, **({"emoji": True} if emoji else {})}


def feedback_actions(
    prediction_id: int, predicted: str, labels: Sequence[str], block_id: str = FEEDBACK_BLOCK_ID
) -> dict:
    """The controls (``block_id``: one per set): a "✓ Correct" button and an "Actually it's…"
    menu of the other labels, alphabetical (grouped past :data:`MAX_OPTIONS`: all reachable)."""
    actions: dict[str, Any] = {"type": "actions", "block_id": block_id}
    button = {
        "type": "button",
        "action_id": CONFIRM_ACTION,
        "text": _plain("✓ Correct", emoji=True),
        "value": str(prediction_id),
    }
    others = sorted(
        ((label, i) for i, label in enumerate(labels) if label != predicted),
        key=lambda item: (item[0].lower(), item[1]),
    )
    options = [
        {
            "text": _plain(shorten(label, OPTION_TEXT_CHARS)),
            "value": choice_value(prediction_id, label, i),
        }
        for label, i in others
    ][: MAX_OPTIONS * MAX_OPTIONS]
    if not options:
        return {**actions, "elements": [button]}
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": CORRECT_ACTION,
        "placeholder": _plain("Actually it's…", emoji=True),
    }
    if len(options) <= MAX_OPTIONS:
        select["options"] = options
    else:
        groups = [options[i : i + MAX_OPTIONS] for i in range(0, len(options), MAX_OPTIONS)]
        select["option_groups"] = [
            {
                "label": _plain(
                    shorten(f"{g[0]['text']['text']} … {g[-1]['text']['text']}", OPTION_TEXT_CHARS)
                ),
                "options": g,
            }
            for g in groups
        ]
    return {**actions, "elements": [button, select]}


def recorded_line(answer: Answer) -> str:
    """``Recorded: positive by <@U1>`` (+ whether it confirmed or corrected the label), or
    ``Suggested: …`` for an answer that does not decide (a labeler will)."""
    how = "correction" if answer.is_correction else "confirmed"
    label = escape_and_shorten(answer.chosen_label, LABEL_CHARS)
    if is_suggestion(answer):
        return f"Suggested: {label} by <@{answer.user}> ({how}; a labeler decides)"
    return f"Recorded: {label} by <@{answer.user}> ({how})"


def feedback_note(answers: Sequence[Answer], controls_id: str = FEEDBACK_BLOCK_ID) -> dict:
    """The context block listing the answers so far (the newest :data:`NOTE_ANSWERS`)."""
    shown = list(answers)[-NOTE_ANSWERS:]
    more = len(answers) - len(shown)
    lines = [":memo: " + recorded_line(a) for a in shown]
    if more:
        lines.insert(0, f"… and {more} earlier answer{'s' * (more > 1)}")
    if resolve(answers).held:
        lines.append(HELD_LINE)
    return {**context("\n".join(lines)), "block_id": f"{controls_id}_note"}


def with_feedback_note(
    reply_blocks: Sequence[dict], answers: Sequence[Answer], controls_id: str = FEEDBACK_BLOCK_ID
) -> Blocks:
    """``reply_blocks`` with the note of ``answers`` just above the controls ``controls_id``
    (replacing an older note; the controls stay, so others can still answer)."""
    out = [b for b in reply_blocks if b.get("block_id") != f"{controls_id}_note"]
    if not answers:
        return out
    at = next((i for i, b in enumerate(out) if b.get("block_id") == controls_id), len(out))
    out.insert(at, feedback_note(answers, controls_id))
    return out


FEEDBACK_UNKNOWN = (
    ":warning: Heed doesn't know that answer any more (it may come from another Heed install, "
    "or its database was reset), so nothing was recorded."
)
LABEL_ACTION = "label"  # the audit log's action for an answer, allowed or refused
NOT_SHOWN_HERE = (
    ":warning: That answer isn't one the message it came from offered, so nothing was recorded."
)


def not_permitted(source: str | None) -> str:
    """The private refusal for someone who may not label a prediction of ``source``
    (``classify``: its asker may suggest; ``autotag``: the message's author may)."""
    who = {"classify": "the person who asked, ", "autotag": "the message's author, "}
    who = who.get(source or "", "")
    return (
        f":no_entry: Only {who}Heed's labelers (`HEED_LABELERS`) and admins in this workspace "
        "can label this, so nothing was recorded."
    )


NOT_A_LABEL = ":warning: That label isn't one of this model's labels, so nothing was recorded."

NOT_TAGGED = (
    ":information_source: Heed has no label on this message to correct: it was not auto-tagged "
    "(and is not a Heed reply). Use *Classify with Heed* to classify it."
)


def correction_prompt(prediction: Prediction, answers: Sequence[Answer]) -> tuple[str, Blocks]:
    """The *Correct Heed's label* prompt: Heed's label, the answers so far, the controls."""
    label = escape_and_shorten(prediction.label, LABEL_CHARS)
    confidence = percent(prediction.confidence or 0.0)
    text = (
        f"Heed labelled this message *{label}* ({confidence} confidence, model "
        f"`{prediction.model_version or '?'}`). Confirm it or pick the right label:"
    )
    labels = list(prediction.scores) or [prediction.label]
    blocks = [section(text), feedback_actions(prediction.id, prediction.label, labels)]
    return text, with_feedback_note(blocks, answers)


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


def suggestion_line(item: QueuedItem) -> str:
    """``suggested: LABEL by @user`` (and ``appealed by @user: "reason"``) for a suggested
    item; empty for one that is only uncertain."""
    parts = []
    for s in item.suggestions:
        if s.label is not None:
            parts.append(f"suggested: *{escape_and_shorten(s.label, LABEL_CHARS)}* by <@{s.user}>")
        else:
            why = f': "{escape_and_shorten(s.reason, 200)}"' if s.reason else ""
            parts.append(f"appealed by <@{s.user}>{why}")
    return ":raising_hand: " + " · ".join(parts) if parts else ""


def _where(item: QueuedItem) -> str:
    p = item.prediction
    channel = f" in <#{p.channel}>" if p.channel and p.channel[:1] in "CG" else ""
    what = "auto-tagged message" if p.source == "autotag" else "`/classify`"
    return f"{what} by {who(p.user)}{channel}"


def _unsure(uncertainty: float) -> str:
    """``uncertainty 0.42``; an abstention (queued first, above 1) says so."""
    if uncertainty > QUEUE_FIRST:
        return f"not sure, queued first · uncertainty {uncertainty - QUEUE_FIRST:.2f}"
    return f"uncertainty {uncertainty:.2f}"


def quoted_text(position: int, text: str) -> dict:
    """A queued text as someone wrote it, numbered: plain text (no mention, link or formatting
    of theirs works in a labeler's DM) with its links defanged, on one line, shortened."""
    quoted = shorten(defang(" ".join(text.split())), TEXT_CHARS) or "(empty)"
    return {"type": "section", "text": {**_plain(f"{position}. {quoted}"), "emoji": False}}


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
        f"{'s' * (len(items) != 1)} Heed was least sure about, suggested and appealed ones "
        "first, then the most uncertain. "
        "Confirm or correct each: your answer counts like any correction, and an answered "
        "message leaves the queue."
    )
    blocks.append({**section(text), "block_id": QUEUE_HEAD_BLOCK_ID})
    for position, item in enumerate(items, 1):  # text, suggestions, label, how unsure, controls
        p = item.prediction
        label = escape_and_shorten(p.label, LABEL_CHARS)
        suggested = suggestion_line(item)
        double = " · asked of two labelers" if item.labels_wanted > 1 else ""
        blocks += [
            quoted_text(position, p.text),
            context(
                (f"{suggested}\n" if suggested else "")
                + f"Heed said *{label}* ({percent(p.confidence or 0.0)} confidence) · "
                f"{_unsure(item.uncertainty)} · {_where(item)} · {utc(p.created)}{double}"
            ),
            feedback_actions(p.id, p.label, list(p.scores) or [p.label], controls_id(p.id)),
        ]
    return text, blocks


NOT_A_LABELER = (
    ":no_entry: Only Heed's labelers (`HEED_LABELERS`) and admins in this workspace can see the "
    "labelling queue: it holds people's messages. This attempt was logged."
)
QUEUE_ACTION = "queue"  # the subcommand, and its action in the audit log
