"""The durable auto-tag queue (``pending_tags``): a message is stored with its event keys before
the ack, taken in batches under a lease by any replica's worker, and deleted once tagged."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.database.events import claim_in
from bot.database.records import Repository, Transactions, now
from bot.database.schema import pending_tags, predictions

MAX_ATTEMPTS = 5
"""Takes after which a message is given up: one that kills its worker each time (a lease that
lapses without the row being finished) must not take every replica down in turn."""


@dataclass(frozen=True)
class PendingTag:
    """A message waiting for its tag, as a worker took it (``attempts`` counts this one)."""

    id: int
    channel: str
    message_ts: str
    thread_ts: str | None
    user: str | None
    text: str
    created: datetime
    attempts: int
    noted: bool


@dataclass(frozen=True)
class Depth:
    """How many messages wait, and since when the oldest does (None: none waits)."""

    pending: int
    oldest: datetime | None


def _tag_from(row: dict) -> PendingTag:
    values = {k: row[k] for k in PendingTag.__dataclass_fields__}
    return PendingTag(
        **values | {"created": datetime.fromisoformat(row["created"]), "noted": bool(row["noted"])}
    )


class Arrivals:
    """When this process's listeners last offered messages to the queue (stored or refused as
    redelivered: both cost an ack), to tell a burst from a steady stream."""

    def __init__(self, keep: int = 512) -> None:
        self._times: deque[float] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self) -> None:
        """Count one arrival, now."""
        with self._lock:
            self._times.append(time.monotonic())

    def rate(self, window: float) -> float:
        """Arrivals per second over the last ``window`` seconds."""
        since = time.monotonic() - window
        with self._lock:
            recent = sum(1 for _ in takewhile(lambda t: t >= since, reversed(self._times)))
        return recent / window


class PendingTags(Repository):
    """The ``pending_tags`` table; :attr:`arrived` is set whenever this process queues one, so
    its worker wakes at once instead of at its next poll; :attr:`arrivals` times them."""

    def __init__(self, db: Transactions) -> None:
        super().__init__(db)
        self.arrived = threading.Event()
        self.arrivals = Arrivals()

    def enqueue(
        self,
        keys: Sequence[str],
        *,
        channel: str,
        message_ts: str,
        text: str,
        user: str | None = None,
        thread_ts: str | None = None,
    ) -> bool:
        """Claim the message's event ``keys`` and store it, in one transaction; False (nothing
        stored) when any key was claimed before, by this replica or another."""
        self.arrivals.add()
        row = {
            "channel": channel,
            "message_ts": message_ts,
            "thread_ts": thread_ts,
            "user": user,
            "text": text,
            "created": now(),
        }
        try:
            with self._db.write() as conn:
                if not claim_in(conn, [*keys, f"message:{channel}:{message_ts}"]):
                    return False
                conn.execute(insert(pending_tags).values(**row))
        except IntegrityError:  # a replica claimed a key or stored the message meanwhile
            return False
        self.arrived.set()
        return True

    def take(self, owner: str, n: int, lease: timedelta) -> list[PendingTag]:
        """Lease up to ``n`` messages nobody holds (oldest first) to ``owner``; rows locked by
        another replica's take are skipped on PostgreSQL, SQLite's takes run one at a time."""
        if n <= 0:
            return []
        stamp = now()
        free = and_(
            or_(pending_tags.c.lease_expires.is_(None), pending_tags.c.lease_expires < stamp),
            pending_tags.c.attempts < MAX_ATTEMPTS,
        )
        with self._db.read() as conn:  # an idle poll takes no write lock (SQLite: none at all)
            if conn.execute(select(pending_tags.c.id).where(free).limit(1)).first() is None:
                return []
        with self._db.write() as conn:
            chosen = select(pending_tags.c.id).where(free).order_by(pending_tags.c.id).limit(n)
            if conn.dialect.name == "postgresql":
                chosen = chosen.with_for_update(skip_locked=True)
            query = (
                update(pending_tags)
                .where(pending_tags.c.id.in_(chosen.scalar_subquery()))
                .values(owner=owner, lease_expires=now(lease), attempts=pending_tags.c.attempts + 1)
                .returning(*pending_tags.c)
            )
            rows = [_tag_from(dict(row)) for row in conn.execute(query).mappings()]
        return sorted(rows, key=lambda tag: tag.id)

    def release(self, tag_id: int, owner: str) -> None:
        """Hand a message back untouched (its worker had no room): any replica takes it next."""
        mine = and_(pending_tags.c.id == tag_id, pending_tags.c.owner == owner)
        with self._db.write() as conn:
            conn.execute(
                update(pending_tags)
                .where(mine)
                .values(owner=None, lease_expires=None, attempts=pending_tags.c.attempts - 1)
            )

    def mark_noted(self, tag_id: int) -> None:
        """Remember that the message's thread note is posted (a retaken row skips it)."""
        with self._db.write() as conn:
            conn.execute(update(pending_tags).where(pending_tags.c.id == tag_id).values(noted=1))

    def finish(self, tag_id: int) -> None:
        """The message is tagged (or given up): delete it and its text."""
        with self._db.write() as conn:
            conn.execute(delete(pending_tags).where(pending_tags.c.id == tag_id))

    def recorded(self, channel: str, message_ts: str) -> int | None:
        """The id of the auto-tag prediction already stored for this message (a worker that
        died after recording it), or None: an auto-tag is keyed by channel and ts."""
        query = (
            select(predictions.c.id)
            .where(
                predictions.c.channel == channel,
                predictions.c.message_ts == message_ts,
                predictions.c.source == "autotag",
            )
            .order_by(predictions.c.id)
            .limit(1)
        )
        with self._db.read() as conn:
            return conn.execute(query).scalar()

    def give_up(self, older_than: timedelta) -> list[PendingTag]:
        """Delete the messages waiting longer than ``older_than`` or taken :data:`MAX_ATTEMPTS`
        times, once no lease holds them; returns them (each to one of racing replicas)."""
        stale = or_(
            pending_tags.c.created < now(-older_than), pending_tags.c.attempts >= MAX_ATTEMPTS
        )
        lapsed = or_(pending_tags.c.lease_expires.is_(None), pending_tags.c.lease_expires < now())
        query = delete(pending_tags).where(stale, lapsed).returning(*pending_tags.c)
        with self._db.write() as conn:
            return [_tag_from(dict(row)) for row in conn.execute(query).mappings()]

    def depth(self) -> Depth:
        """How many messages wait (taken or not) and the oldest one's arrival."""
        query = select(func.count(), func.min(pending_tags.c.created))
        with self._db.read() as conn:
            count, oldest = conn.execute(query).one()
        return Depth(int(count), datetime.fromisoformat(oldest) if oldest else None)
