"""Predictions the bot made and the answers people gave about them: the labelled rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy import text as sql

from bot.database.labels import (
    ASKER,
    ROLES,
    TRUSTED,
    HeldRow,
    LabelledRow,
    Resolution,
    resolve,
)
from bot.database.queue import QueueOffer, mark_answered, offer
from bot.database.records import Answer, Prediction, answer_from, now, prediction_from
from bot.database.schema import SOURCES, predictions
from bot.database.transactions import Repository

ANSWERS_LOCK = 0x48454546  # the advisory lock that orders answers on PostgreSQL
_ANSWERS = (
    "SELECT f.*, p.label FROM feedback f JOIN predictions p ON p.id = f.prediction_id "
    "WHERE f.prediction_id = :pid"
)
_TASK_ANSWERS = (
    "SELECT f.*, p.label, p.text FROM feedback f "
    "JOIN predictions p ON p.id = f.prediction_id{where} ORDER BY p.id, f.seq"
)
_TRUSTED_ROLES = ", ".join(f"'{role}'" for role in sorted(TRUSTED))
_HELD_ANSWERS = (
    'SELECT f.prediction_id, p.text, f."user", f.chosen_label FROM feedback f '
    f"JOIN predictions p ON p.id = f.prediction_id WHERE f.role IN ({_TRUSTED_ROLES}) "
    "AND f.prediction_id IN (SELECT g.prediction_id FROM feedback g "
    f"WHERE g.role IN ({_TRUSTED_ROLES}) GROUP BY g.prediction_id "
    "HAVING COUNT(DISTINCT g.chosen_label) > 1){where} ORDER BY f.prediction_id, f.seq"
)
# :func:`bot.database.labels.resolve` as SQL aggregates, for counting without reading rows:
# one or more distinct trusted labels decide (two or more: held); without a trusted answer
# the asker's latest answer does. ``{trim}`` strips what Python's str.strip() strips.
_COUNTS = (
    "WITH answered AS (SELECT p.id, p.text, COUNT(*) AS answers, "
    "SUM(f.is_correction) AS corrections, "
    f"COUNT(DISTINCT CASE WHEN f.role IN ({_TRUSTED_ROLES}) THEN f.chosen_label END) AS trusted, "
    f"MAX(CASE WHEN f.role IN ({_TRUSTED_ROLES}) THEN f.chosen_label END) AS trusted_label, "
    f"MAX(CASE WHEN f.role = '{ASKER}' THEN f.seq END) AS asker_seq "
    "FROM predictions p JOIN feedback f ON f.prediction_id = p.id{where} GROUP BY p.id, p.text), "
    "resolved AS (SELECT a.*, CASE WHEN a.trusted = 1 THEN a.trusted_label "
    "WHEN a.trusted = 0 THEN k.chosen_label END AS label FROM answered a "
    "LEFT JOIN feedback k ON k.prediction_id = a.id AND k.seq = a.asker_seq) "
    "SELECT COALESCE(SUM(answers), 0) AS answers, "
    "COALESCE(SUM(corrections), 0) AS corrections, "
    "COALESCE(SUM(CASE WHEN {trim}(text, :ws) <> '' "
    "AND {trim}(COALESCE(label, ''), :ws) <> '' THEN 1 ELSE 0 END), 0) AS labelled_rows, "
    "COALESCE(SUM(CASE WHEN trusted > 1 THEN 1 ELSE 0 END), 0) AS held FROM resolved"
)
WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
"""Every character ``str.strip()`` strips, for SQL's trim."""


def _for_task(task: str | None, column: str = "p.task") -> tuple[str, dict[str, str]]:
    """A ``WHERE`` clause (and its parameters) keeping ``task``'s rows; none for every task."""
    return (f" WHERE {column} = :task", {"task": task}) if task is not None else ("", {})


@dataclass(frozen=True)
class _Answered:
    id: int
    text: str
    answered: str
    answers: list[Answer]
    resolution: Resolution

    @property
    def trainable(self) -> bool:
        label = self.resolution.label
        return bool(label and label.strip() and self.text.strip())


@dataclass(frozen=True)
class Forgotten:
    """What :meth:`Predictions.forget` deleted."""

    predictions: int
    answers: int
    texts: frozenset[str]


class PredictionNotFoundError(LookupError):
    """An answer names a prediction id that was never recorded."""


class Predictions(Repository):
    """The ``predictions`` and ``feedback`` tables."""

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
        source: str = "classify",
        task: str = "default",
        queue: QueueOffer | None = None,
    ) -> int:
        """Store one prediction the bot made; returns its id (put it in the feedback buttons).

        ``source`` is ``classify`` (``user`` asked for it) or ``autotag`` (``user`` wrote the
        auto-tagged message; nobody asked); ``task`` is the task whose model made it. With
        ``queue``, it is offered to the task's labelling queue in the same transaction
        (:func:`bot.database.queue.offer`)."""
        if not label:
            raise ValueError("a prediction needs a label")
        if source not in SOURCES:
            raise ValueError(f"unknown prediction source {source!r}")
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
            "source": source,
            "task": task,
        }
        with self._db.write() as conn:
            prediction_id = int(
                conn.execute(
                    insert(predictions).values(**row).returning(predictions.c.id)
                ).scalar_one()
            )
            if queue is not None:
                offer(conn, prediction_id, task, text, queue)
            return prediction_id

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

    def find_by_message(self, channel: str, message_ts: str) -> Prediction | None:
        """The newest prediction shown at or made about the message ``channel``/``message_ts``
        (an auto-tagged message, or a ``/classify`` reply); None when there is none."""
        query = (
            select(predictions)
            .where(predictions.c.channel == channel, predictions.c.message_ts == message_ts)
            .order_by(predictions.c.id.desc())
            .limit(1)
        )
        with self._db.read() as conn:
            row = conn.execute(query).mappings().first()
        return prediction_from(row) if row is not None else None

    def prune_unlabelled(self, older_than: timedelta) -> int:
        """Delete predictions (their texts) nobody answered, made more than ``older_than``
        ago; returns how many."""
        with self._db.write() as conn:
            return conn.execute(
                sql(
                    "DELETE FROM predictions WHERE created < :before AND NOT EXISTS "
                    "(SELECT 1 FROM feedback f WHERE f.prediction_id = predictions.id)"
                ),
                {"before": now(-older_than)},
            ).rowcount

    def forget(self, user: str) -> Forgotten:
        """Delete everything ``user`` wrote or answered: the predictions of their texts
        (``/classify``, the shortcut, their auto-tagged messages — with every answer about
        them) and their answers about anyone's. Returns what went, texts included, so the
        exports on disk can be cleaned too."""
        with self._db.write() as conn:
            texts = [
                row[0]
                for row in conn.execute(
                    sql('SELECT text FROM predictions WHERE "user" = :user'), {"user": user}
                )
            ]
            answers = conn.execute(
                sql('DELETE FROM feedback WHERE "user" = :user'), {"user": user}
            ).rowcount
            gone = conn.execute(
                sql('DELETE FROM predictions WHERE "user" = :user'), {"user": user}
            ).rowcount
        return Forgotten(predictions=gone, answers=answers, texts=frozenset(texts))

    def record_answer(
        self,
        prediction_id: int,
        user: str,
        chosen_label: str,
        *,
        role: str,
        user_name: str | None = None,
    ) -> Answer:
        """Store ``user``'s answer about a prediction; replaces that user's earlier answer.

        ``role`` is the standing the caller checked the user has (:mod:`bot.database.labels`).
        ``chosen_label`` equal to the predicted label is a confirmation, anything else a
        correction. Raises :class:`PredictionNotFoundError` for an unknown id and
        ``ValueError`` for an empty user or label or an unknown role.
        """
        chosen_label = (chosen_label or "").strip()
        if not chosen_label:
            raise ValueError("feedback needs a chosen label")
        if not user:
            raise ValueError("feedback needs a user")
        if role not in ROLES:
            raise ValueError(f"unknown answer role {role!r}")
        with self._db.write() as conn:
            found = conn.execute(
                select(predictions.c.label, predictions.c.text, predictions.c.task).where(
                    predictions.c.id == prediction_id
                )
            ).first()
            if found is None:
                raise PredictionNotFoundError(f"no prediction with id {prediction_id}")
            predicted = found.label
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
                    "chosen_label, is_correction, seq, role) "
                    "VALUES (:pid, :user, :name, :created, :label, :correction, :seq, :role) "
                    'ON CONFLICT (prediction_id, "user") DO UPDATE SET '
                    "user_name = COALESCE(excluded.user_name, feedback.user_name), "
                    "created = excluded.created, chosen_label = excluded.chosen_label, "
                    "is_correction = excluded.is_correction, seq = excluded.seq, "
                    "role = excluded.role"
                ),
                {
                    **key,
                    "name": user_name,
                    "created": now(),
                    "label": chosen_label,
                    "correction": int(chosen_label != predicted),
                    "seq": seq,
                    "role": role,
                },
            )
            mark_answered(conn, prediction_id, found.task, found.text)
            row = conn.execute(sql(f'{_ANSWERS} AND f."user" = :user'), key).mappings().one()
            return answer_from(row, replaced)

    def answers_for(self, prediction_id: int) -> list[Answer]:
        """Every user's current answer about a prediction, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(sql(f"{_ANSWERS} ORDER BY f.seq"), {"pid": prediction_id})
            return [answer_from(r) for r in rows.mappings()]

    def resolution(self, prediction_id: int) -> Resolution:
        """What the answers about one prediction decide (:func:`bot.database.labels.resolve`)."""
        return resolve(self.answers_for(prediction_id))

    def _resolved(self, task: str | None = None) -> list[_Answered]:
        """Every answered prediction (of ``task``, or of every task) with its answers and
        their resolution, oldest first."""
        where, params = _for_task(task)
        with self._db.read() as conn:
            rows = list(conn.execute(sql(_TASK_ANSWERS.format(where=where)), params).mappings())
        grouped: dict[int, list] = {}
        for row in rows:
            grouped.setdefault(row["prediction_id"], []).append(row)
        out = []
        for pid, group in grouped.items():
            answers = [answer_from(r) for r in group]
            answered = max(r["created"] for r in group)
            out.append(_Answered(pid, group[0]["text"], answered, answers, resolve(answers)))
        return out

    def labelled(self, since: str | None = None, task: str | None = None) -> list[LabelledRow]:
        """The rows the next retrain learns from, oldest prediction first (blank texts
        skipped); with ``since`` (a stored time), only those answered after it; with
        ``task``, only that task's."""
        return [
            LabelledRow(
                a.id, a.text, a.resolution.label, a.resolution.basis, a.resolution.users, a.answered
            )
            for a in self._resolved(task)
            if a.trainable and (since is None or a.answered > since)
        ]

    def labelled_rows(self, task: str | None = None) -> list[tuple[str, str]]:
        """:meth:`labelled` as ``(text, label)``: what ``classifier.exports`` validation accepts."""
        return [(row.text, row.label) for row in self.labelled(task=task)]

    def held(self, task: str | None = None) -> list[HeldRow]:
        """Predictions (of ``task``, or of every task) whose trusted answers disagree, held
        out of training for review."""
        where, params = _for_task(task)
        query = _HELD_ANSWERS.format(where=where.replace(" WHERE ", " AND "))
        grouped: dict[int, list] = {}
        with self._db.read() as conn:
            for row in conn.execute(sql(query), params).mappings():
                grouped.setdefault(row["prediction_id"], []).append(row)
        return [
            HeldRow(pid, group[0]["text"], tuple((r["user"], r["chosen_label"]) for r in group))
            for pid, group in grouped.items()
        ]

    def counts(self, task: str | None = None) -> dict[str, int]:
        """``answers`` (all users), ``corrections`` and ``confirmations``, ``labelled_rows``
        (what the next retrain learns from) and ``held`` (trusted answers disagree); of
        ``task``, or of every task. Counted by the database, not by reading the rows."""
        where, params = _for_task(task)
        with self._db.read() as conn:
            trim = "btrim" if conn.dialect.name == "postgresql" else "trim"
            query = sql(_COUNTS.format(where=where, trim=trim))
            row = conn.execute(query, {**params, "ws": WHITESPACE}).mappings().one()
        answers, corrections = int(row["answers"]), int(row["corrections"])
        return {
            "answers": answers,
            "corrections": corrections,
            "confirmations": answers - corrections,
            "labelled_rows": int(row["labelled_rows"]),
            "held": int(row["held"]),
        }
