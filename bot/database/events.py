"""Slack event keys already handled: claimed once across every replica, pruned when old."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.database.records import now
from bot.database.schema import EVENT_KEY_CHARS, events

if TYPE_CHECKING:
    from bot.database.connection import Database


class Events:
    """The ``events`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(self, keys: Sequence[str]) -> bool:
        """Record every key in one transaction; True when none was there before.

        Of several replicas claiming the same key at once, exactly one gets True (the
        primary key decides); a False claim inserts nothing.
        """
        wanted = list(dict.fromkeys(k[:EVENT_KEY_CHARS] for k in keys))
        if not wanted:
            return True
        seen = now()
        try:
            with self._db.write() as conn:
                taken = conn.execute(select(events.c.key).where(events.c.key.in_(wanted))).first()
                if taken is not None:
                    return False
                conn.execute(events.insert(), [{"key": k, "seen_at": seen} for k in wanted])
        except IntegrityError:  # another replica inserted one of them meanwhile
            return False
        return True

    def prune(self, older_than: timedelta) -> int:
        """Delete keys seen more than ``older_than`` ago; returns how many."""
        with self._db.write() as conn:
            return conn.execute(delete(events).where(events.c.seen_at < now(-older_than))).rowcount
