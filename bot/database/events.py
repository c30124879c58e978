"""Slack event keys already handled: claimed once across every replica, pruned when old."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, insert, select
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


class Events(Repository):
    """The ``events`` table."""

    def claim(self, keys: Sequence[str]) -> bool:
        """Record every key, all or none; True when none was there before (the primary key
        decides between replicas). Sorted, so two claims sharing keys never deadlock."""
        wanted = sorted({stored_key(k) for k in keys})
        if not wanted:
            return True
        seen = now()
        try:
            with self._db.write() as conn:
                taken = conn.execute(select(events.c.key).where(events.c.key.in_(wanted))).first()
                if taken is not None:
                    return False
                conn.execute(insert(events), [{"key": k, "seen_at": seen} for k in wanted])
        except IntegrityError:  # another replica inserted one of them meanwhile: rolled back
            return False
        return True

    def prune(self, older_than: timedelta) -> int:
        """Delete keys seen more than ``older_than`` ago; returns how many."""
        with self._db.write() as conn:
            return conn.execute(delete(events).where(events.c.seen_at < now(-older_than))).rowcount
