"""Predictions the bot made and the answers people gave about them: the labelled rows."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import timedelta

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy import text as sql

from bot.database.labels import ROLES, TRUSTED, LabelledRow, resolve
from bot.database.queue import QueueOffer, mark_answered, mark_suggested, offer
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
# two or more hold the row, none: no label (suggestions). ``{trim}`` strips what str.strip() does.
_COUNTS = (
    "WITH answered AS (SELECT p.id, p.text, COUNT(*) AS answers, "
    "SUM(f.is_correction) AS corrections, "
    f"COUNT(DISTINCT CASE WHEN f.role IN ({_TRUSTED_ROLES}) THEN f.chosen_label END) AS trusted, "
    f"MAX(CASE WHEN f.role IN ({_TRUSTED_ROLES}) THEN f.chosen_label END) AS trusted_label "
    "FROM predictions p JOIN feedback f ON f.prediction_id = p.id{where} GROUP BY p.id, p.text), "
    "resolved AS (SELECT a.*, CASE WHEN a.trusted = 1 THEN a.trusted_label END AS label "
    "FROM answered a) "
    "SELECT COALESCE(SUM(answers), 0) AS answers, "
    "COALESCE(SUM(corrections), 0) AS corrections, "
    "COALESCE(SUM(answers - corrections), 0) AS confirmations, "
    "COALESCE(SUM(CASE WHEN {trim}(text, :ws) <> '' "
    "AND {trim}(COALESCE(label, ''), :ws) <> '' THEN 1 ELSE 0 END), 0) AS labelled_rows, "
    "COALESCE(SUM(CASE WHEN trusted > 1 THEN 1 ELSE 0 END), 0) AS held FROM resolved"
)
# The rows :meth:`Predictions.labelled` returns, answered after ``:since``, counted by label and
# by the users whose answers decided them (the trusted ones: suggestions never label a row).
_FRESH = (
    "WITH answered AS (SELECT p.id, p.text, MAX(f.created) AS answered, "
    f"COUNT(DISTINCT CASE WHEN f.role IN ({_TRUSTED_ROLES}) THEN f.chosen_label END) AS trusted, "
    f"MAX(CASE WHEN f.role IN ({_TRUSTED_ROLES}) THEN f.chosen_label END) AS trusted_label "
    "FROM predictions p JOIN feedback f ON f.prediction_id = p.id{where} GROUP BY p.id, p.text), "
    "fresh AS (SELECT a.*, a.trusted_label AS label FROM answered a "
    "WHERE a.trusted = 1 AND a.answered > :since AND {trim}(a.text, :ws) <> '' "
    "AND {trim}(COALESCE(a.trusted_label, ''), :ws) <> '') "
    "SELECT 'label' AS kind, label AS name, COUNT(*) AS n FROM fresh GROUP BY label "
    "UNION ALL SELECT 'user', u.\"user\", COUNT(*) FROM fresh r "
    "JOIN feedback u ON u.prediction_id = r.id "
    f'WHERE u.role IN ({_TRUSTED_ROLES}) GROUP BY u."user"'
)
WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())  # str.strip()'s
_C0_CONTROLS = dict.fromkeys(c for c in range(0x20) if chr(c) not in "\t\n")


def storable_text(text: str) -> str:
    """``text`` as stored: C0 control characters (NUL, escape sequences, backspaces…) dropped,
    so no export, log or terminal shows them; tabs and newlines stay (a carriage return ends a
    line: it becomes a newline)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_C0_CONTROLS)


def _for_task(task: str | None) -> tuple[str, dict[str, str]]:
    """A ``WHERE`` clause (and its parameters) keeping ``task``'s rows; none for every task."""
    return (" WHERE p.task = :task", {"task": task}) if task is not None else ("", {})


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
        author: str | None = None,
    ) -> int:
        """Store one prediction; returns its id. With ``queue``, offered to the queue atomically.
        ``author`` wrote the text (default: ``user``, who asked or, auto-tagged, wrote it)."""
        if not label:
            raise ValueError("a prediction needs a label")
        if source not in SOURCES:
            raise ValueError(f"unknown prediction source {source!r}")
        text = storable_text(text)
        row = {
            "created": now(),
            "channel": channel,
            "user": user,
            "author": (author or None) if author is not None else user,
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
        checked: a trusted one may close the text's queue item, any other puts an offered,
        undecided text first as a suggestion; raises
        :class:`PredictionNotFoundError` or ``ValueError`` for bad input."""
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
            if role in TRUSTED:
                trusted = feedback.c.role.in_(sorted(TRUSTED))
                count = select(func.count()).where(feedback.c.prediction_id == prediction_id)
                decided = conn.execute(count.where(trusted)).scalar_one()
                mark_answered(conn, prediction_id, found.task, found.text, decided)
            else:  # a suggestion: first in the queue, for labelers to decide
                mark_suggested(conn, prediction_id, found.task, found.text)
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

    def trusted_ratings(self, task: str) -> list[tuple[int, str, str]]:
        """``(prediction id, user, label)`` of every trusted answer about the predictions of
        ``task`` that two or more labelers or admins answered (the agreement figures' input)."""
        trusted = feedback.c.role.in_(sorted(TRUSTED))
        doubled = (
            select(feedback.c.prediction_id)
            .join(predictions, predictions.c.id == feedback.c.prediction_id)
            .where(predictions.c.task == task, trusted)
            .group_by(feedback.c.prediction_id)
            .having(func.count() >= 2)
        )
        query = (
            select(feedback.c.prediction_id, feedback.c.user, feedback.c.chosen_label)
            .where(trusted, feedback.c.prediction_id.in_(doubled))
            .order_by(feedback.c.prediction_id, feedback.c.seq)
        )
        with self._db.read() as conn:
            return [(int(pid), user, label) for pid, user, label in conn.execute(query)]

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

    def answered_since(self, task: str, since: str | None) -> tuple[dict[str, int], dict[str, int]]:
        """Of ``task``'s labelled rows answered after ``since`` (a stored time; None: all),
        how many per label and per user whose answers decided them, counted by the database."""
        where, params = _for_task(task)
        labels: dict[str, int] = {}
        users: dict[str, int] = {}
        with self._db.read() as conn:
            trim = "btrim" if conn.dialect.name == "postgresql" else "trim"
            query = sql(_FRESH.format(where=where, trim=trim))
            values = {**params, "ws": WHITESPACE, "since": since or ""}
            for kind, name, n in conn.execute(query, values):
                (labels if kind == "label" else users)[name] = int(n)
        return labels, users
