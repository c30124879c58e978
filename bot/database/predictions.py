"""Predictions the bot made and the answers people gave about them: the labelled rows."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy import text as sql

from bot.database.labels import ASKER, ROLES, TRUSTED, LabelledRow, resolve
from bot.database.queue import QueueOffer, mark_answered, offer
from bot.database.records import (
    Answer,
    Prediction,
    Repository,
    answer_from,
    now,
    prediction_from,
)
from bot.database.schema import SOURCES, feedback, predictions

ANSWERS_LOCK = 0x48454546  # the advisory lock that orders answers on PostgreSQL
_ANSWERS = (
    "SELECT f.*, p.label AS predicted_label, p.text "
    "FROM feedback f JOIN predictions p ON p.id = f.prediction_id"
)
_USERS_ANSWER = f'{_ANSWERS} WHERE f.prediction_id = :pid AND f."user" = :user'
_TRUSTED_ROLES = ", ".join(f"'{role}'" for role in sorted(TRUSTED))
# labels.resolve as SQL aggregates (counting without reading rows): one trusted label decides,
# two or more hold the row, none: the asker's latest. ``{trim}`` strips what str.strip() does.
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
    "COALESCE(SUM(answers - corrections), 0) AS confirmations, "
    "COALESCE(SUM(CASE WHEN {trim}(text, :ws) <> '' "
    "AND {trim}(COALESCE(label, ''), :ws) <> '' THEN 1 ELSE 0 END), 0) AS labelled_rows, "
    "COALESCE(SUM(CASE WHEN trusted > 1 THEN 1 ELSE 0 END), 0) AS held FROM resolved"
)
WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())  # str.strip()'s


def _for_task(task: str | None) -> tuple[str, dict[str, str]]:
    """A ``WHERE`` clause (and its parameters) keeping ``task``'s rows; none for every task."""
    return (" WHERE p.task = :task", {"task": task}) if task is not None else ("", {})


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
        """Store one prediction; returns its id. With ``queue``, offered to the queue atomically."""
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
        query = insert(predictions).values(**row).returning(predictions.c.id)
        with self._db.write() as conn:
            prediction_id = int(conn.execute(query).scalar_one())
            if queue is not None:
                offer(conn, prediction_id, task, text, queue)
            return prediction_id

    def set_message(self, prediction_id: int, *, channel: str | None, message_ts: str) -> None:
        """Remember where the reply was posted (known only after ``chat.postMessage``)."""
        query = (
            update(predictions)
            .where(predictions.c.id == prediction_id)
            .values(channel=func.coalesce(channel, predictions.c.channel), message_ts=message_ts)
        )
        with self._db.write() as conn:
            if conn.execute(query).rowcount == 0:
                raise PredictionNotFoundError(f"no prediction with id {prediction_id}")

    def get(self, prediction_id: int) -> Prediction | None:
        """The prediction with this id, or None."""
        return self._first(
            select(predictions).where(predictions.c.id == prediction_id), prediction_from
        )

    def find_by_message(self, channel: str, message_ts: str) -> Prediction | None:
        """The newest prediction shown at (a reply) or made about (an auto-tag) this message."""
        return self._first(
            select(predictions)
            .where(predictions.c.channel == channel, predictions.c.message_ts == message_ts)
            .order_by(predictions.c.id.desc())
            .limit(1),
            prediction_from,
        )

    def prune_unlabelled(self, older_than: timedelta) -> int:
        """Delete unanswered predictions older than ``older_than``; returns how many."""
        unanswered = ~exists().where(feedback.c.prediction_id == predictions.c.id)
        query = delete(predictions).where(predictions.c.created < now(-older_than), unanswered)
        with self._db.write() as conn:
            return conn.execute(query).rowcount

    def forget(self, user: str) -> Forgotten:
        """Delete the predictions of ``user``'s texts (with every answer about them) and their
        answers about anyone's; the texts are returned so exports on disk can be cleaned."""
        theirs = predictions.c.user == user
        with self._db.write() as conn:
            texts = frozenset(conn.execute(select(predictions.c.text).where(theirs)).scalars())
            answers = conn.execute(delete(feedback).where(feedback.c.user == user)).rowcount
            gone = conn.execute(delete(predictions).where(theirs)).rowcount
        return Forgotten(predictions=gone, answers=answers, texts=texts)

    def record_answer(
        self,
        prediction_id: int,
        user: str,
        chosen_label: str,
        *,
        role: str,
        user_name: str | None = None,
    ) -> Answer:
        """Store ``user``'s answer (replacing their earlier one) in the ``role`` the caller
        checked; raises :class:`PredictionNotFoundError` or ``ValueError`` for bad input."""
        chosen_label = (chosen_label or "").strip()
        if not chosen_label:
            raise ValueError("feedback needs a chosen label")
        if not user:
            raise ValueError("feedback needs a user")
        if role not in ROLES:
            raise ValueError(f"unknown answer role {role!r}")
        key = {"pid": prediction_id, "user": user}
        with self._db.write() as conn:
            found = conn.execute(
                sql("SELECT label, text, task FROM predictions WHERE id = :pid"), key
            ).first()
            if found is None:
                raise PredictionNotFoundError(f"no prediction with id {prediction_id}")
            if conn.dialect.name == "postgresql":
                # one writer at a time (as SQLite's BEGIN IMMEDIATE is), or two replicas could
                # read the same MAX(seq), which orders answers ("the latest answer wins").
                conn.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": ANSWERS_LOCK})
            mine = (feedback.c.prediction_id == prediction_id) & (feedback.c.user == user)
            replaced = conn.execute(select(feedback.c.id).where(mine)).first() is not None
            seq = conn.execute(sql("SELECT COALESCE(MAX(seq), 0) + 1 FROM feedback")).scalar()
            values = {
                "prediction_id": prediction_id,
                "user": user,
                "created": now(),
                "chosen_label": chosen_label,
                "is_correction": int(chosen_label != found.label),
                "seq": seq,
                "role": role,
            }
            if user_name is not None:  # else an earlier answer's name stays
                values["user_name"] = user_name
            # under the lock above, the row found (or not) stays so until commit: no upsert needed
            write = update(feedback).where(mine) if replaced else insert(feedback)
            conn.execute(write.values(values))
            mark_answered(conn, prediction_id, found.task, found.text)
            row = conn.execute(sql(_USERS_ANSWER), key).mappings().one()
            return answer_from(row, replaced=replaced)

    def answers_for(self, prediction_id: int) -> list[Answer]:
        """Every user's current answer about a prediction, oldest first."""
        query = sql(f"{_ANSWERS} WHERE f.prediction_id = :pid ORDER BY f.seq")
        return self._all(query.bindparams(pid=prediction_id), answer_from)

    def labelled(
        self, task: str | None = None, *, sources: Collection[str] = SOURCES
    ) -> list[LabelledRow]:
        """The rows the next retrain learns from (of ``task`` or all, of predictions from
        ``sources``), oldest first, no blanks."""
        where, params = _for_task(task)
        where += " AND" if where else " WHERE"
        where += f" p.source IN ({', '.join(repr(s) for s in sources if s in SOURCES) or 'NULL'})"
        query = sql(f"{_ANSWERS}{where} ORDER BY p.id, f.seq")
        grouped: dict[int, list] = {}
        with self._db.read() as conn:
            for row in conn.execute(query, params).mappings():
                grouped.setdefault(row["prediction_id"], []).append(row)
        rows = []
        for pid, group in grouped.items():
            decided = resolve([answer_from(r) for r in group])
            text = group[0]["text"]
            if decided.label and decided.label.strip() and text.strip():
                answered = max(r["created"] for r in group)
                trusted = any(r["role"] in TRUSTED for r in group)
                rows.append(LabelledRow(pid, text, decided.label, decided.users, answered, trusted))
        return rows

    def labelled_rows(
        self, task: str | None = None, *, sources: Collection[str] = SOURCES
    ) -> list[tuple[str, str]]:
        """:meth:`labelled` as ``(text, label)``: what ``classifier.exports`` validation accepts."""
        return [(row.text, row.label) for row in self.labelled(task, sources=sources)]

    def counts(self, task: str | None = None) -> dict[str, int]:
        """``answers``, ``corrections``, ``confirmations``, ``labelled_rows`` and ``held`` (of
        ``task``, or of every task), counted by the database without reading the rows."""
        where, params = _for_task(task)
        with self._db.read() as conn:
            trim = "btrim" if conn.dialect.name == "postgresql" else "trim"
            query = sql(_COUNTS.format(where=where, trim=trim))
            row = conn.execute(query, {**params, "ws": WHITESPACE}).mappings().one()
        return {name: int(value) for name, value in row.items()}
