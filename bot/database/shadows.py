"""Which version shadows each task, and what it said beside the serving version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from bot.database.records import Repository, now
from bot.database.schema import predictions, shadow_predictions, shadows


@dataclass(frozen=True)
class Shadow:
    """A task's shadow version, since when and by whom."""

    task: str
    version: str
    started: str
    started_by: str | None


@dataclass(frozen=True)
class ShadowPair:
    """One message both versions predicted: the serving label, the shadow's and the text."""

    prediction_id: int
    serving: str
    shadow: str
    text: str


class Shadows(Repository):
    """The ``shadows`` and ``shadow_predictions`` tables."""

    def current(self, task: str) -> Shadow | None:
        """The version shadowing ``task``, or None."""
        return self._first(
            select(shadows).where(shadows.c.task == task), lambda row: Shadow(**dict(row))
        )

    def start(self, task: str, version: str, user: str | None) -> None:
        """Make ``version`` ``task``'s shadow (replacing any other)."""
        row = {"task": task, "version": version, "started": now(), "started_by": user}
        with self._db.write() as conn:
            conn.execute(delete(shadows).where(shadows.c.task == task))
            conn.execute(insert(shadows).values(**row))

    def stop(self, task: str, version: str | None = None) -> bool:
        """Stop ``task``'s shadow (only if it is ``version``, when given); True if one was."""
        query = delete(shadows).where(shadows.c.task == task)
        if version is not None:
            query = query.where(shadows.c.version == version)
        with self._db.write() as conn:
            return conn.execute(query).rowcount > 0

    def record(self, prediction_id: int, version: str, label: str, confidence: float) -> bool:
        """Store what ``version`` said about a prediction; False when it already did."""
        row = {
            "prediction_id": prediction_id,
            "version": version,
            "label": label,
            "confidence": confidence,
        }
        try:
            with self._db.write() as conn:
                conn.execute(insert(shadow_predictions).values(**row))
        except IntegrityError:
            return False
        return True

    def pairs(self, task: str, version: str) -> list[ShadowPair]:
        """Every stored prediction of ``task`` that ``version`` shadowed, oldest first."""
        query = (
            select(
                predictions.c.id,
                predictions.c.label,
                shadow_predictions.c.label.label("shadow"),
                predictions.c.text,
            )
            .join(shadow_predictions, shadow_predictions.c.prediction_id == predictions.c.id)
            .where(predictions.c.task == task, shadow_predictions.c.version == version)
            .order_by(predictions.c.id)
        )
        with self._db.read() as conn:
            return [ShadowPair(*row) for row in conn.execute(query)]
