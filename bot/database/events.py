"""Slack event keys already handled: claimed once across every replica, pruned when old."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from bot.database.records import Repository, now
from bot.database.schema import EVENT_KEY_CHARS, events


def stored_key(key: str) -> str:
    """``key`` as stored: itself when it fits :data:`EVENT_KEY_CHARS`, else a prefix and its
    SHA-256 (two long keys never collide the way truncation would make them)."""
    if len(key) <= EVENT_KEY_CHARS:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: EVENT_KEY_CHARS - len(digest) - 1]}#{digest}"


def claim_in(conn: Connection, keys: Sequence[str]) -> bool:
    """In the caller's transaction, record every key unless one is there (False). Sorted, so two
    claims sharing keys never deadlock; a replica racing in between makes the insert raise
    ``IntegrityError`` (the caller's transaction is then rolled back)."""
    wanted = sorted({stored_key(k) for k in keys})
    if not wanted:
        return True
    if conn.execute(select(events.c.key).where(events.c.key.in_(wanted))).first() is not None:
        return False
    conn.execute(insert(events), [{"key": k, "seen_at": now()} for k in wanted])
    return True


class Events(Repository):
    """The ``events`` table."""

    def claim(self, keys: Sequence[str]) -> bool:
        """Record every key, all or none; True when none was there before (the primary key
        decides between replicas)."""
        try:
            with self._db.write() as conn:
                return claim_in(conn, keys)
        except IntegrityError:  # another replica inserted one of them meanwhile: rolled back
            return False

    def prune(self, older_than: timedelta) -> int:
        """Delete keys seen more than ``older_than`` ago; returns how many."""
        with self._db.write() as conn:
            return conn.execute(delete(events).where(events.c.seen_at < now(-older_than))).rowcount
