"""Predictions the bot made and the answers people gave about them: the labelled rows."""

from __future__ import annotations

import csv
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy import text as sql

from bot.database.records import Answer, Prediction, answer_from, now, prediction_from
from bot.database.schema import predictions

if TYPE_CHECKING:
    from bot.database.connection import Database


ANSWERS_LOCK = 0x48454546  # the advisory lock that orders answers on PostgreSQL
_ANSWERS = (
    "SELECT f.*, p.label FROM feedback f JOIN predictions p ON p.id = f.prediction_id "
    "WHERE f.prediction_id = :pid"
)


class PredictionNotFoundError(LookupError):
    """An answer names a prediction id that was never recorded."""


class Predictions:
    """The ``predictions`` and ``feedback`` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        *,
        text: str,
        label: str,
        confidence: float | None = None,
        scores: Mapping[str, float] | None = None,
        model_version: str | None = None,
        method: str | None = None,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> int:
        """Store one prediction the bot made; returns its id (put it in the feedback buttons)."""
        if not label:
            raise ValueError("a prediction needs a label")
        row = {
            "created": now(),
            "channel": channel,
            "user": user,
            "text": text,
            "label": label,
            "confidence": confidence,
            "scores": json.dumps(dict(scores or {})),
            "model_version": model_version,
            "method": method,
            "message_ts": message_ts,
        }
        with self._db.write() as conn:
            return int(
                conn.execute(
                    insert(predictions).values(**row).returning(predictions.c.id)
                ).scalar_one()
            )

    def set_message(self, prediction_id: int, *, channel: str | None, message_ts: str) -> None:
        """Remember where the reply was posted (known only after ``chat.postMessage``)."""
        with self._db.write() as conn:
            cursor = conn.execute(
                sql(
                    "UPDATE predictions SET channel = COALESCE(:channel, channel), "
                    "message_ts = :ts WHERE id = :id"
                ),
                {"channel": channel, "ts": message_ts, "id": prediction_id},
            )
            if cursor.rowcount == 0:
                raise PredictionNotFoundError(f"no prediction with id {prediction_id}")

    def get(self, prediction_id: int) -> Prediction | None:
        """The prediction with this id, or None."""
        with self._db.read() as conn:
            row = (
                conn.execute(select(predictions).where(predictions.c.id == prediction_id))
                .mappings()
                .first()
            )
        return prediction_from(row) if row is not None else None

    def record_answer(
        self, prediction_id: int, user: str, chosen_label: str, *, user_name: str | None = None
    ) -> Answer:
        """Store ``user``'s answer about a prediction; replaces that user's earlier answer.

        ``chosen_label`` equal to the predicted label is a confirmation, anything else a
        correction. Raises :class:`PredictionNotFoundError` for an unknown id and
        ``ValueError`` for an empty user or label.
        """
        chosen_label = (chosen_label or "").strip()
        if not chosen_label:
            raise ValueError("feedback needs a chosen label")
        if not user:
            raise ValueError("feedback needs a user")
        with self._db.write() as conn:
            predicted = conn.execute(
                select(predictions.c.label).where(predictions.c.id == prediction_id)
            ).scalar()
            if predicted is None:
                raise PredictionNotFoundError(f"no prediction with id {prediction_id}")
            if conn.dialect.name == "postgresql":
                # seq orders every answer ("the latest answer wins"): one writer at a time,
                # as SQLite's BEGIN IMMEDIATE already guarantees, or two replicas answering at
                # once could both read the same MAX(seq).
                conn.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": ANSWERS_LOCK})
            key = {"pid": prediction_id, "user": user}
            replaced = (
                conn.execute(
                    sql('SELECT 1 FROM feedback WHERE prediction_id = :pid AND "user" = :user'),
                    key,
                ).first()
                is not None
            )
            seq = conn.execute(sql("SELECT COALESCE(MAX(seq), 0) + 1 FROM feedback")).scalar()
            conn.execute(
                sql(
                    'INSERT INTO feedback (prediction_id, "user", user_name, created, '
                    "chosen_label, is_correction, seq) "
                    "VALUES (:pid, :user, :name, :created, :label, :correction, :seq) "
                    'ON CONFLICT (prediction_id, "user") DO UPDATE SET '
                    "user_name = COALESCE(excluded.user_name, feedback.user_name), "
                    "created = excluded.created, chosen_label = excluded.chosen_label, "
                    "is_correction = excluded.is_correction, seq = excluded.seq"
                ),
                {
                    **key,
                    "name": user_name,
                    "created": now(),
                    "label": chosen_label,
                    "correction": int(chosen_label != predicted),
                    "seq": seq,
                },
            )
            row = conn.execute(sql(f'{_ANSWERS} AND f."user" = :user'), key).mappings().one()
            return answer_from(row, replaced)

    def answers_for(self, prediction_id: int) -> list[Answer]:
        """Every user's current answer about a prediction, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(sql(f"{_ANSWERS} ORDER BY f.seq"), {"pid": prediction_id})
            return [answer_from(r) for r in rows.mappings()]

    def labelled_rows(self) -> list[tuple[str, str]]:
        """The labelled rows for retraining, as ``(text, label)``, oldest prediction first.

        Every prediction that received at least one answer yields one row: confirmations
        (the predicted label was right) and corrections alike, since both are human labels.
        When several users answered the same prediction, the **latest answer wins** (the one
        recorded last, counting a changed answer as new): the most recent judgement is the
        one people saw and did not dispute. Rows with blank text are skipped, so the export
        always passes ``training.data`` validation.
        """
        with self._db.read() as conn:
            rows = conn.execute(
                sql(
                    "SELECT p.text, f.chosen_label FROM feedback f "
                    "JOIN predictions p ON p.id = f.prediction_id "
                    "WHERE f.seq = "
                    "(SELECT MAX(seq) FROM feedback g WHERE g.prediction_id = f.prediction_id) "
                    "ORDER BY p.id"
                )
            ).all()
        return [(r[0], r[1]) for r in rows if r[0].strip() and r[1].strip()]

    def counts(self) -> dict[str, int]:
        """``answers`` (all users), ``corrections`` and ``confirmations``, ``labelled_rows``."""
        with self._db.read() as conn:
            row = conn.execute(
                sql(
                    "SELECT COUNT(*), COALESCE(SUM(is_correction), 0), "
                    "COUNT(DISTINCT prediction_id) FROM feedback"
                )
            ).one()
        answers, corrections, labelled = (int(v) for v in row)
        return {
            "answers": answers,
            "corrections": corrections,
            "confirmations": answers - corrections,
            "labelled_rows": labelled,
        }

    def export_csv(self, target: Path | str | IO[str]) -> int:
        """Write :meth:`labelled_rows` as a ``text,label`` CSV; returns the number of rows.

        ``target`` is a path (written atomically, UTF-8) or an open text buffer. The file is
        a valid training export (``training.data.read_export``) whenever it has rows.
        """
        rows = self.labelled_rows()
        if isinstance(target, str | Path):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            try:
                with open(tmp, "w", encoding="utf-8", newline="") as handle:
                    _write_csv(handle, rows)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        else:
            _write_csv(target, rows)
        return len(rows)


def _write_csv(handle: IO[str], rows: list[tuple[str, str]]) -> None:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(("text", "label"))
    writer.writerows(rows)
