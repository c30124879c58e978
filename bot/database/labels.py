"""Which label a prediction's answers give it.

Every answer carries the standing its user had when giving it (``feedback.role``):

- ``admin`` or ``labeler`` — *trusted* (a Heed admin, or listed in ``HEED_LABELERS``);
- ``asker`` — the person who asked for the prediction;
- ``unverified`` — an answer from before answers were checked, by someone other than the asker.

A trusted answer outranks the asker's. When trusted answers disagree the row is *held* for
review and not trained on until they agree (a labeler changing their answer settles it). Without
a trusted answer the asker's answer labels the row. Unverified answers never label a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.database.records import Answer

ADMIN, LABELER, ASKER, UNVERIFIED = "admin", "labeler", "asker", "unverified"
ROLES = (ADMIN, LABELER, ASKER, UNVERIFIED)
TRUSTED = frozenset({ADMIN, LABELER})

TRUSTED_BASIS, ASKER_BASIS, HELD_BASIS, NO_BASIS = "trusted", "asker", "held", "none"


@dataclass(frozen=True)
class Resolution:
    """What a prediction's answers decide: the ``label`` to train on (None when held or when
    no answer counts), on which ``basis``, and the ``users`` whose answers decided it."""

    label: str | None
    basis: str
    users: tuple[str, ...] = ()

    @property
    def held(self) -> bool:
        """Trusted answers disagree: the row waits for review."""
        return self.basis == HELD_BASIS


def resolve(answers: Sequence[Answer]) -> Resolution:
    """The label ``answers`` (one per user) give their prediction; see the module doc."""
    trusted = [a for a in answers if a.role in TRUSTED]
    if trusted:
        users = tuple(a.user for a in trusted)
        labels = {a.chosen_label for a in trusted}
        if len(labels) == 1:
            return Resolution(labels.pop(), TRUSTED_BASIS, users)
        return Resolution(None, HELD_BASIS, users)
    asker = [a for a in answers if a.role == ASKER]
    if asker:
        return Resolution(asker[-1].chosen_label, ASKER_BASIS, (asker[-1].user,))
    return Resolution(None, NO_BASIS)


@dataclass(frozen=True)
class LabelledRow:
    """One prediction with the label its answers give it (see :func:`resolve`)."""

    prediction_id: int
    text: str
    label: str
    users: tuple[str, ...]  # whose answers decided it
    answered: str  # when its newest answer was given (stored time text)
