"""The labelling queue: per task, the recent predictions Heed was least sure about, each text
offered once; and the claims that make one replica send each digest DM."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, delete, select, update
from sqlalchemy import text as sql

from bot.database.records import Prediction, Repository, now, prediction_from
from bot.database.schema import label_queue, predictions, queue_digests

DEFAULT_DAYS = 14
QUEUE_FIRST = 1.0
"""Added to an abstention's uncertainty: scores are at most 1, so it ranks above every other
item (and is evicted last) while abstentions keep their own order."""

_INSERT = (
    "INSERT INTO label_queue (task, text_hash, prediction_id, uncertainty, created, status) "
    "VALUES (:task, :hash, :pid, :uncertainty, :created, :status) "
    "ON CONFLICT (task, text_hash) DO "
)
_OPEN = "UPDATE label_queue SET status = 'evicted' WHERE task = :task AND status = 'open' AND "
_EXPIRE = _OPEN + "created < :since"
_FIRST_OUT = (
    "SELECT uncertainty, id FROM label_queue WHERE task = :task AND status = 'open' "
    "ORDER BY uncertainty DESC, id DESC LIMIT 1 OFFSET :size"
)
_EVICT = _OPEN + "(uncertainty < :u OR (uncertainty = :u AND id <= :id))"
_CLAIM_DIGEST = (
    'INSERT INTO queue_digests (task, period, "user", claimed, owner) '
    'VALUES (:task, :period, :user, :claimed, :owner) ON CONFLICT (task, period, "user") DO NOTHING'
)


def text_hash(text: str) -> str:
    """SHA-256 of ``text`` case-folded, whitespace collapsed: retyped or respaced, the same."""
    normal = " ".join(text.casefold().split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class QueueOffer:
    """A new prediction's ``uncertainty``; its queue keeps ``size`` items of ``days``."""

    uncertainty: float
    size: int = 200
    days: int = DEFAULT_DAYS


@dataclass(frozen=True)
class QueuedItem:
    """One open item: the prediction and how unsure it was."""

    prediction: Prediction
    uncertainty: float


def _row(prediction_id: int, task: str, text: str, uncertainty: float | None) -> dict[str, object]:
    return {
        "task": task,
        "hash": text_hash(text),
        "pid": prediction_id,
        "uncertainty": uncertainty,
        "created": now(),
        "status": "open" if uncertainty is not None else "answered",
    }


def offer(conn: Connection, prediction_id: int, task: str, text: str, item: QueueOffer) -> bool:
    """In the caller's transaction, queue a new prediction unless its text was ever queued or
    labelled in ``task``, then evict all but the ``size`` most uncertain; True when queued."""
    row = _row(prediction_id, task, text, float(item.uncertainty))
    if not text.strip() or not conn.execute(sql(_INSERT + "NOTHING"), row).rowcount:
        return False
    conn.execute(sql(_EXPIRE), {"task": task, "since": now(-timedelta(days=item.days))})
    first_out = conn.execute(sql(_FIRST_OUT), {"task": task, "size": item.size}).first()
    if first_out is not None:  # more than ``size`` open: the least uncertain go
        conn.execute(sql(_EVICT), {"task": task, "u": first_out[0], "id": first_out[1]})
    return True


def mark_answered(conn: Connection, prediction_id: int, task: str, text: str) -> None:
    """In the caller's transaction, mark this answered prediction's text answered in ``task``'s
    queue (inserting it when it never entered), so it is never offered."""
    conn.execute(
        sql(_INSERT + "UPDATE SET status = 'answered', prediction_id = excluded.prediction_id"),
        _row(prediction_id, task, text, None),
    )


class LabelQueue(Repository):
    """Reading the queue, and the digest claims (``queue_digests``)."""

    def top(self, task: str, n: int, days: int = DEFAULT_DAYS) -> list[QueuedItem]:
        """The ``n`` most uncertain open items of ``task`` within ``days`` (newest on ties)."""
        query = (
            select(predictions, label_queue.c.uncertainty)
            .join(label_queue, label_queue.c.prediction_id == predictions.c.id)
            .where(
                label_queue.c.task == task,
                label_queue.c.status == "open",
                label_queue.c.created >= now(-timedelta(days=days)),
            )
            .order_by(label_queue.c.uncertainty.desc(), label_queue.c.id.desc())
            .limit(max(0, n))
        )
        return self._all(query, lambda row: QueuedItem(prediction_from(row), row["uncertainty"]))

    def status(self, prediction_id: int) -> str | None:
        """The queue status of the row pointing at this prediction (None without one)."""
        query = select(label_queue.c.status).where(label_queue.c.prediction_id == prediction_id)
        with self._db.read() as conn:
            return conn.execute(query).scalar()

    def claim_digest(self, task: str, period: str, user: str, owner: str) -> bool:
        """Claim ``user``'s digest DM of ``task`` in ``period``; True for the one winning caller."""
        row = {"task": task, "period": period, "user": user, "claimed": now(), "owner": owner}
        with self._db.write() as conn:
            return bool(conn.execute(sql(_CLAIM_DIGEST), row).rowcount)

    def claimed_digests(self, task: str, period: str) -> set[str]:
        """The users whose digest of ``task`` in ``period`` some replica has claimed."""
        query = select(queue_digests.c.user).where(
            queue_digests.c.task == task, queue_digests.c.period == period
        )
        with self._db.read() as conn:
            return {row[0] for row in conn.execute(query)}

    def finish_digest(self, task: str, period: str, user: str, outcome: str) -> None:
        """Store what became of a claimed digest (``sent N``, ``empty``, ``failed: …``)."""
        digest = queue_digests.c
        query = update(queue_digests).where(
            digest.task == task, digest.period == period, digest.user == user
        )
        with self._db.write() as conn:
            conn.execute(query.values(outcome=outcome[:300]))

    def prune_digests(self, older_than: timedelta) -> int:
        """Delete digest claims made more than ``older_than`` ago; returns how many."""
        with self._db.write() as conn:
            return conn.execute(
                delete(queue_digests).where(queue_digests.c.claimed < now(-older_than))
            ).rowcount
