"""Which label a prediction's answers give it, by the standing each user had when answering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.database.records import Answer

ADMIN, LABELER, ASKER, UNVERIFIED = "admin", "labeler", "asker", "unverified"
AUTHOR = "author"  # wrote the auto-tagged message the prediction is about
ROLES = (ADMIN, LABELER, ASKER, AUTHOR, UNVERIFIED)
TRUSTED = frozenset({ADMIN, LABELER})
"""Roles whose answers decide; any other answer is a *suggestion*: stored, shown, put at the
top of the labelling queue, never trained on and never closing a queue item."""


@dataclass(frozen=True)
class Resolution:
    """What the answers decide: the ``label`` to train on (or None) and the ``users`` who did."""

    label: str | None
    users: tuple[str, ...] = ()
    held: bool = False  # trusted answers disagree: the row waits for review


def is_suggestion(answer: Answer) -> bool:
    """An answer that does not decide (the asker's, an auto-tagged message's author's)."""
    return answer.role not in TRUSTED


def resolve(answers: Sequence[Answer]) -> Resolution:
    """The label ``answers`` (one per user) give: only trusted answers decide (disagreeing,
    they hold the row for review); suggestions alone label nothing."""
    trusted = [a for a in answers if a.role in TRUSTED]
    if not trusted:
        return Resolution(None)
    users = tuple(a.user for a in trusted)
    labels = {a.chosen_label for a in trusted}
    if len(labels) > 1:
        return Resolution(None, users, held=True)
    return Resolution(labels.pop(), users)


@dataclass(frozen=True)
class LabelledRow:
    """One prediction with the label its answers give it (see :func:`resolve`)."""

    prediction_id: int
    text: str
    label: str
    users: tuple[str, ...]  # whose answers decided it
    answered: str  # when its newest answer was given (stored time text)
    trusted: bool = False  # an admin or a labeler decided it
