"""Signatures of the Slack requests accepted in HTTP mode: each one claimed once across every
replica, so a replayed request is refused while Slack's timestamp window still admits it."""

from __future__ import annotations

import time

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from bot.database.records import Repository
from bot.database.schema import request_signatures

WINDOW_S = 5 * 60
"""How far a request's timestamp may be from now (slack_sdk's ``SignatureVerifier``)."""


class Signatures(Repository):
    """The ``request_signatures`` table."""

    def claim(self, signature: str, timestamp: int) -> bool:
        """Record ``signature`` (of a request stamped ``timestamp``); False when some replica
        recorded it before (the primary key decides)."""
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(request_signatures), {"signature": signature, "timestamp": timestamp}
                )
        except IntegrityError:
            return False
        return True

    def prune(self, now: float | None = None) -> int:
        """Delete the signatures whose timestamp the verifier refuses by now (older than the
        window, with as much again for clock skew between replicas); returns how many."""
        oldest = int(time.time() if now is None else now) - 2 * WINDOW_S
        query = delete(request_signatures).where(request_signatures.c.timestamp < oldest)
        with self._db.write() as conn:
            return conn.execute(query).rowcount
