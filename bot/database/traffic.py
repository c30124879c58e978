"""What a version predicted lately: the sample the drift check compares with its reference."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.database.records import Repository, now
from bot.database.schema import predictions


class Traffic(Repository):
    """Reads of the ``predictions`` table by task, version and age."""

    def predicted(
        self, task: str, model_version: str, within: timedelta
    ) -> list[tuple[str, float]]:
        """(label, calibrated confidence) of every prediction ``model_version`` made for
        ``task`` in the last ``within`` (what retention has not yet deleted)."""
        query = select(predictions.c.label, predictions.c.confidence).where(
            predictions.c.task == task,
            predictions.c.model_version == model_version,
            predictions.c.created >= now(-within),
            predictions.c.confidence.is_not(None),
        )
        with self._db.read() as conn:
            return [(str(label), float(conf)) for label, conf in conn.execute(query)]
