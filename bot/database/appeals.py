"""Appeals: the author of an auto-tagged message disputes Heed's label; the appeal waits first
in the labelling queue until a labeler's or admin's answer decides it (upheld or changed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, func, insert, select, update

from bot.database.queue import mark_suggested
from bot.database.records import Repository, now
from bot.database.schema import appeals, predictions

REASON_CHARS = 500
OPEN, UPHELD, CHANGED = "open", "upheld", "changed"


@dataclass(frozen=True)
class Appeal:
    """One appeal of the label Heed gave prediction ``prediction_id``."""

    id: int
    prediction_id: int
    author: str
    created: datetime
    reason: str
    status: str = OPEN
    decided_by: str | None = None
    decided_label: str | None = None


def _appeal(row: Row) -> Appeal:
    values = row._mapping
    return Appeal(
        values["id"],
        values["prediction_id"],
        values["author"],
        datetime.fromisoformat(values["created"]),
        values["reason"],
        values["status"],
        values["decided_by"],
        values["decided_label"],
    )


class Appeals(Repository):
    """The ``appeals`` table."""

    def file(self, prediction_id: int, author: str, reason: str) -> Appeal:
        """Store an open appeal and put the message first in its task's queue (atomically)."""
        with self._db.write() as conn:
            found = conn.execute(
                select(predictions.c.task, predictions.c.text).where(
                    predictions.c.id == prediction_id
                )
            ).first()
            if found is None:
                raise LookupError(f"no prediction with id {prediction_id}")
            query = insert(appeals).values(
                prediction_id=prediction_id,
                author=author,
                created=now(),
                reason=" ".join(reason.split())[:REASON_CHARS],
            )
            row = conn.execute(query.returning(*appeals.c)).one()
            mark_suggested(conn, prediction_id, found.task, found.text, appeal=True)
            return _appeal(row)

    def open_for(self, prediction_id: int) -> Appeal | None:
        """The open appeal about this prediction, if any."""
        query = select(appeals).where(
            appeals.c.prediction_id == prediction_id, appeals.c.status == OPEN
        )
        with self._db.read() as conn:
            row = conn.execute(query.limit(1)).first()
        return _appeal(row) if row is not None else None

    def filed_since(self, author: str, since: timedelta) -> int:
        """How many appeals ``author`` filed in the last ``since`` (for the rate limit)."""
        query = select(func.count()).where(
            appeals.c.author == author, appeals.c.created >= now(-since)
        )
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def decide(self, prediction_id: int, user: str, label: str, predicted: str) -> list[Appeal]:
        """Close the open appeals about this prediction with a trusted answer: ``upheld`` when
        ``label`` is Heed's ``predicted`` label, else ``changed``; returns those closed (one
        caller wins each, so each author is told once)."""
        status = UPHELD if label == predicted else CHANGED
        query = (
            update(appeals)
            .where(appeals.c.prediction_id == prediction_id, appeals.c.status == OPEN)
            .values(status=status, decided_by=user, decided_label=label, decided=now())
            .returning(*appeals.c)
        )
        with self._db.write() as conn:
            return [_appeal(row) for row in conn.execute(query)]
