"""The labelling queue: per task, the suggested texts (an untrusted answer or an appeal waits
for a labeler) first, then the recent predictions Heed was least sure about, each text offered
once; and the claims that make one replica send each digest DM."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, and_, case, delete, exists, func, or_, select, update
from sqlalchemy import text as sql

from bot.database.labels import TRUSTED
from bot.database.records import Prediction, Repository, now, prediction_from
from bot.database.schema import appeals, feedback, label_queue, predictions, queue_digests

DEFAULT_DAYS = 14
QUEUE_FIRST = 1.0
"""Added to an abstention's uncertainty: scores are at most 1, so it ranks above every other
item (and is evicted last) while abstentions keep their own order."""

SUGGESTED = "suggested"  # shown first until a trusted answer closes it; never evicted
_INSERT = (
    "INSERT INTO label_queue "
    "(task, text_hash, prediction_id, uncertainty, created, status, labels_wanted) "
    "VALUES (:task, :hash, :pid, :uncertainty, :created, :status, :wanted) "
    "ON CONFLICT (task, text_hash) DO "
)
# a trusted answer closes the item once it has the labels it wants (2 when double-labelled)
_ANSWERED = _INSERT + (
    "UPDATE SET prediction_id = excluded.prediction_id, status = CASE "
    "WHEN label_queue.labels_wanted <= :trusted THEN 'answered' ELSE label_queue.status END"
)
# an appeal puts its text first whatever its status (the author asked for the review)
_APPEALED = _INSERT + (f"UPDATE SET status = '{SUGGESTED}', prediction_id = excluded.prediction_id")
# a suggestion only moves a text the queue was offered (never one asked in a DM) and no
# trusted answer decided
_SUGGESTED = (
    f"UPDATE label_queue SET status = '{SUGGESTED}', prediction_id = :pid "
    "WHERE task = :task AND text_hash = :hash AND status IN ('open', 'evicted', 'suggested')"
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
    double_share: float = 0.0  # HEED_DOUBLE_LABEL: the share asked of two labelers


def is_double(hashed: str, share: float) -> bool:
    """Whether the text of SHA-256 ``hashed`` is among the ``share`` asked of two labelers
    (decided by the hash, so every replica decides alike)."""
    return int(hashed[:8], 16) < share * 0x1_0000_0000


@dataclass(frozen=True)
class Suggestion:
    """An answer that does not decide (``label``), or an appeal of Heed's label (``label`` is
    None, ``reason`` the author's words), waiting for a labeler."""

    user: str
    label: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class QueuedItem:
    """One item: the prediction, how unsure it was, and the suggestions that put it first."""

    prediction: Prediction
    uncertainty: float
    suggestions: tuple[Suggestion, ...] = ()
    labels_wanted: int = 1


def _row(
    prediction_id: int, task: str, text: str, uncertainty: float | None, status: str
) -> dict[str, object]:
    return {
        "task": task,
        "hash": text_hash(text),
        "pid": prediction_id,
        "uncertainty": uncertainty,
        "created": now(),
        "status": status,
        "wanted": 1,
    }


def offer(conn: Connection, prediction_id: int, task: str, text: str, item: QueueOffer) -> bool:
    """In the caller's transaction, queue a new prediction unless its text was ever queued or
    labelled in ``task``, then evict all but the ``size`` most uncertain; True when queued."""
    row = _row(prediction_id, task, text, float(item.uncertainty), "open")
    row["wanted"] = 2 if is_double(str(row["hash"]), item.double_share) else 1
    if not text.strip() or not conn.execute(sql(_INSERT + "NOTHING"), row).rowcount:
        return False
    conn.execute(sql(_EXPIRE), {"task": task, "since": now(-timedelta(days=item.days))})
    first_out = conn.execute(sql(_FIRST_OUT), {"task": task, "size": item.size}).first()
    if first_out is not None:  # more than ``size`` open: the least uncertain go
        conn.execute(sql(_EVICT), {"task": task, "u": first_out[0], "id": first_out[1]})
    return True


def mark_answered(
    conn: Connection, prediction_id: int, task: str, text: str, trusted: int = 1
) -> None:
    """In the caller's transaction, mark this prediction's text answered in ``task``'s queue
    once it has ``trusted`` answers enough (inserting it when it never entered), so it is never
    offered again; a double-labelled item stays until its second trusted answer."""
    row = _row(prediction_id, task, text, None, "answered")
    conn.execute(sql(_ANSWERED), {**row, "trusted": trusted})


def mark_suggested(
    conn: Connection, prediction_id: int, task: str, text: str, *, appeal: bool = False
) -> None:
    """In the caller's transaction, put this prediction's text first in ``task``'s queue: for a
    suggestion, when the text was offered to the queue and no trusted answer decided it; for
    an ``appeal``, whatever its status (inserting it when it never entered)."""
    row = _row(prediction_id, task, text, None, SUGGESTED)
    conn.execute(sql(_APPEALED if appeal else _SUGGESTED), row)


def _suggestions(conn: Connection, ids: list[int]) -> dict[int, list[Suggestion]]:
    """The untrusted answers and open appeals about the predictions ``ids``, oldest first."""
    found: dict[int, list[Suggestion]] = {pid: [] for pid in ids}
    answers = (
        select(feedback.c.prediction_id, feedback.c.user, feedback.c.chosen_label)
        .where(feedback.c.prediction_id.in_(ids), feedback.c.role.not_in(sorted(TRUSTED)))
        .order_by(feedback.c.seq)
    )
    for pid, user, label in conn.execute(answers):
        found[pid].append(Suggestion(user, label=label))
    opened = (
        select(appeals.c.prediction_id, appeals.c.author, appeals.c.reason)
        .where(appeals.c.prediction_id.in_(ids), appeals.c.status == "open")
        .order_by(appeals.c.id)
    )
    for pid, author, reason in conn.execute(opened):
        found[pid].append(Suggestion(author, reason=reason or None))
    return found


class LabelQueue(Repository):
    """Reading the queue, and the digest claims (``queue_digests``)."""

    def top(
        self, task: str, n: int, days: int = DEFAULT_DAYS, viewer: str | None = None
    ) -> list[QueuedItem]:
        """``n`` items of ``task``: the suggested first (whatever their age), then the open
        items within ``days`` less those ``viewer`` already answered; most uncertain first in
        each, newest on ties."""
        q = label_queue.c
        suggested = q.status == SUGGESTED
        is_open = and_(q.status == "open", q.created >= now(-timedelta(days=days)))
        if viewer:
            answered = (feedback.c.prediction_id == predictions.c.id) & (feedback.c.user == viewer)
            is_open = and_(is_open, ~exists().where(answered))
        query = (
            select(predictions, q.uncertainty, q.labels_wanted, suggested.label("suggested"))
            .join(label_queue, q.prediction_id == predictions.c.id)
            .where(q.task == task, or_(suggested, is_open))
            .order_by(
                case((suggested, 0), else_=1),
                func.coalesce(q.uncertainty, 0.0).desc(),
                q.id.desc(),
            )
            .limit(max(0, n))
        )
        with self._db.read() as conn:
            rows = list(conn.execute(query).mappings())
            ids = [row["id"] for row in rows if row["suggested"]]
            found = _suggestions(conn, ids) if ids else {}
        return [
            QueuedItem(
                prediction_from(row),
                row["uncertainty"] or 0.0,
                tuple(found.get(row["id"], ())),
                row["labels_wanted"],
            )
            for row in rows
        ]

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
