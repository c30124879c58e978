"""Per-user rate limits (a token bucket each), so one person cannot keep the model busy for
everyone. Kept in this replica's memory: with N replicas a user gets at most N times the rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import LRUCache

REFUSALS_PER_MINUTE = 10
"""Refused attempts (admin, queue, label) a user may make a minute: beyond it they are neither
answered nor audited, so a script cannot flood the audit log or the database."""
MAX_USERS = 10_000
"""Buckets kept at most; the idlest are dropped first (a full bucket is the default anyway)."""


class RateLimiter:
    """``per_minute`` requests a minute per user, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(MAX_USERS)
        self._lock = threading.Lock()

    def wait_for(self, user: str) -> float:
        """0 when ``user`` may go on now (a token is taken), else the seconds until they may."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(user, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self._buckets[user] = (tokens - 1.0 if allowed else tokens, now)
            return 0.0 if allowed else (1.0 - tokens) / rate

    def __len__(self) -> int:
        """Users with a bucket kept."""
        return len(self._buckets)
