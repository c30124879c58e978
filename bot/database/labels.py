"""Which label a prediction's answers give it, by the standing each user had when answering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.database.records import Answer

ADMIN, LABELER, ASKER, UNVERIFIED = "admin", "labeler", "asker", "unverified"
ROLES = (ADMIN, LABELER, ASKER, UNVERIFIED)
TRUSTED = frozenset({ADMIN, LABELER})


@dataclass(frozen=True)
class Resolution:
    """What the answers decide: the ``label`` to train on (or None) and the ``users`` who did."""

    label: str | None
    users: tuple[str, ...] = ()
    held: bool = False  # trusted answers disagree: the row waits for review


def resolve(answers: Sequence[Answer]) -> Resolution:
    """The label ``answers`` (one per user) give: trusted answers outrank the asker's latest
    (disagreeing, they hold the row for review); ``unverified`` ones never label a row."""
    trusted = [a for a in answers if a.role in TRUSTED]
    if trusted:
        users = tuple(a.user for a in trusted)
        labels = {a.chosen_label for a in trusted}
        if len(labels) > 1:
            return Resolution(None, users, held=True)
        return Resolution(labels.pop(), users)
    asker = [a for a in answers if a.role == ASKER]
    return Resolution(asker[-1].chosen_label, (asker[-1].user,)) if asker else Resolution(None)


@dataclass(frozen=True)
class LabelledRow:
    """One prediction with the label its answers give it (see :func:`resolve`)."""

    prediction_id: int
    text: str
    label: str
    users: tuple[str, ...]  # whose answers decided it
    answered: str  # when its newest answer was given (stored time text)
    trusted: bool = False  # an admin or a labeler decided it
