"""The labelling queue: per task, the recent predictions Heed was least sure about, each text
offered once; and the claims that make one replica send each digest DM.

A prediction enters through :func:`offer`, called in the transaction that records it
(:meth:`bot.database.predictions.Predictions.record`), so queueing costs one insert and no
model call. Texts are deduplicated per task by :func:`text_hash` (the unique key decides
between replicas inserting at once: the first wins, the others insert nothing). A text once
queued stays in the table when it leaves the queue — answered, or evicted by the bound — so it
is never offered again; any answer about a prediction (:func:`mark_answered`, in the answer's
transaction) marks its text answered, so a labelled text never enters. Rows follow their
prediction (``ON DELETE CASCADE``): retention and ``/heed-admin forget`` purge them with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError

from bot.database.records import Prediction, now, prediction_from
from bot.database.schema import label_queue, predictions, queue_digests
from bot.database.transactions import Repository

DEFAULT_SIZE = 200
DEFAULT_DAYS = 14

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


def text_hash(text: str) -> str:
    """SHA-256 (hex) of ``text`` case-folded with its whitespace collapsed: the same message
    typed again, or with other spacing, is the same text."""
    normal = " ".join(text.casefold().split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class QueueOffer:
    """A new prediction's claim to a place in its task's queue: its ``uncertainty``
    (:func:`classifier.uncertainty.uncertainty`) and the queue's bound, ``size`` open items
    made within the last ``days``."""

    uncertainty: float
    size: int = DEFAULT_SIZE
    days: int = DEFAULT_DAYS


@dataclass(frozen=True)
class QueuedItem:
    """One open item: the prediction, how unsure it was and when it was queued."""

    prediction: Prediction
    uncertainty: float
    queued: datetime


def offer(conn: Connection, prediction_id: int, task: str, text: str, item: QueueOffer) -> bool:
    """Queue a just-recorded prediction unless its text was ever queued or labelled in
    ``task``; then keep the ``size`` most uncertain open items of the window (the rest are
    evicted, never offered again). True when it was queued. Runs in the caller's write
    transaction."""
    if not text.strip():
        return False
    inserted = conn.execute(
        sql(_INSERT + "NOTHING"),
        {
            "task": task,
            "hash": text_hash(text),
            "pid": prediction_id,
            "uncertainty": float(item.uncertainty),
            "created": now(),
            "status": "open",
        },
    ).rowcount
    if not inserted:
        return False
    conn.execute(sql(_EXPIRE), {"task": task, "since": now(-timedelta(days=item.days))})
    first_out = conn.execute(sql(_FIRST_OUT), {"task": task, "size": item.size}).first()
    if first_out is not None:  # more than ``size`` open: the least uncertain go
        conn.execute(sql(_EVICT), {"task": task, "u": first_out[0], "id": first_out[1]})
    return True


def mark_answered(conn: Connection, prediction_id: int, task: str, text: str) -> None:
    """Someone answered this prediction: its text leaves ``task``'s queue (or is marked
    labelled if it never entered), pointing at this prediction, which is kept as training
    data. Runs in the caller's write transaction."""
    conn.execute(
        sql(_INSERT + "UPDATE SET status = 'answered', prediction_id = excluded.prediction_id"),
        {
            "task": task,
            "hash": text_hash(text),
            "pid": prediction_id,
            "uncertainty": None,
            "created": now(),
            "status": "answered",
        },
    )


class LabelQueue(Repository):
    """Reading the queue, and the digest claims (``queue_digests``)."""

    def top(self, task: str, n: int, days: int = DEFAULT_DAYS) -> list[QueuedItem]:
        """The ``n`` most uncertain open items of ``task`` queued within ``days``, most
        uncertain first (newest first among equals)."""
        query = (
            select(
                predictions,
                label_queue.c.uncertainty.label("queue_uncertainty"),
                label_queue.c.created.label("queued"),
            )
            .join(label_queue, label_queue.c.prediction_id == predictions.c.id)
            .where(
                label_queue.c.task == task,
                label_queue.c.status == "open",
                label_queue.c.created >= now(-timedelta(days=days)),
            )
            .order_by(label_queue.c.uncertainty.desc(), label_queue.c.id.desc())
            .limit(max(0, n))
        )
        with self._db.read() as conn:
            rows = list(conn.execute(query).mappings())
        return [
            QueuedItem(
                prediction_from(row),
                float(row["queue_uncertainty"] or 0.0),
                datetime.fromisoformat(row["queued"]),
            )
            for row in rows
        ]

    def status(self, prediction_id: int) -> str | None:
        """The queue status of the row pointing at this prediction (None without one)."""
        query = select(label_queue.c.status).where(label_queue.c.prediction_id == prediction_id)
        with self._db.read() as conn:
            return conn.execute(query).scalar()

    def claim_digest(self, task: str, period: str, user: str, owner: str) -> bool:
        """Claim the digest DM of ``task`` for ``user`` in ``period``; True for the one
        caller (of any replica) whose insert wins."""
        row = {"task": task, "period": period, "user": user, "claimed": now(), "owner": owner}
        try:
            with self._db.write() as conn:
                inserted = conn.execute(
                    sql(
                        'INSERT INTO queue_digests (task, period, "user", claimed, owner) '
                        "VALUES (:task, :period, :user, :claimed, :owner) "
                        'ON CONFLICT (task, period, "user") DO NOTHING'
                    ),
                    row,
                ).rowcount
        except IntegrityError:
            return False
        return bool(inserted)

    def claimed_digests(self, task: str, period: str) -> set[str]:
        """The users whose digest of ``task`` in ``period`` some replica has claimed."""
        query = select(queue_digests.c.user).where(
            queue_digests.c.task == task, queue_digests.c.period == period
        )
        with self._db.read() as conn:
            return {row[0] for row in conn.execute(query)}

    def finish_digest(self, task: str, period: str, user: str, outcome: str) -> None:
        """Store what became of a claimed digest (``sent N``, ``empty``, ``failed: …``)."""
        with self._db.write() as conn:
            conn.execute(
                update(queue_digests)
                .where(
                    queue_digests.c.task == task,
                    queue_digests.c.period == period,
                    queue_digests.c.user == user,
                )
                .values(outcome=outcome[:300])
            )

    def prune_digests(self, older_than: timedelta) -> int:
        """Delete digest claims made more than ``older_than`` ago; returns how many."""
        with self._db.write() as conn:
            return conn.execute(
                delete(queue_digests).where(queue_digests.c.claimed < now(-older_than))
            ).rowcount
