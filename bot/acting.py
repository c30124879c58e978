"""What auto-tagging does with one prediction for one task: react, note in the thread, post to
the review channel, queue the text for labelers first. Pure: no Slack, no database."""

from __future__ import annotations

from dataclasses import dataclass

from bot.tasks import Task
from classifier.types import Prediction

SUGGEST = "suggest"


@dataclass(frozen=True)
class Plan:
    """The decision for one auto-tagged message.

    ``react``: the emoji to add in the channel (None: none); ``thread_note``: a note with the
    heatmap under the message; ``review``: a post in the task's review channel; ``queue_first``:
    the text goes to the top of the labelling queue. ``threshold`` is the label's, for the
    "confidence ≥ threshold" line; ``abstained``: Heed is not sure; ``flagged``: a notify label
    at or above its threshold; ``suggested``: the task only suggests (nothing in the channel).
    """

    react: str | None
    thread_note: bool
    review: bool
    queue_first: bool
    threshold: float
    abstained: bool
    flagged: bool
    suggested: bool


def decide(task: Task, prediction: Prediction) -> Plan:
    """The plan for ``prediction`` of a message in one of ``task``'s channels.

    Below ``abstain_below`` Heed tags nothing (or the "not sure" emoji) and queues the text
    first; a notify label at or above its threshold is flagged: a thread note (unless
    ``thread_note`` is off) and a review post. In ``suggest`` mode nothing goes to the
    channel: flagged messages and abstentions go to the review channel only."""
    label, confidence = prediction.label, prediction.confidence
    abstained = task.abstains(confidence)
    flagged = not abstained and task.should_notify(label, confidence)
    suggested = task.mode == SUGGEST
    return Plan(
        react=None if suggested else would_react(task, prediction),
        thread_note=flagged and task.thread_note and not suggested,
        review=task.review_channel is not None and (flagged or (abstained and suggested)),
        queue_first=abstained,
        threshold=task.threshold.of(label),
        abstained=abstained,
        flagged=flagged,
        suggested=suggested,
    )


def would_react(task: Task, prediction: Prediction) -> str | None:
    """The emoji ``act`` mode would add for ``prediction`` (for suggestions and dry runs)."""
    if task.abstains(prediction.confidence):
        return task.not_sure_emoji
    return task.emoji_for(prediction.label)
