"""Bounded, thread-safe caches: the bound every look-up cache shares, recently seen keys (this
replica's memory of request signatures) and recently made values (a view rebuilt at most every
few seconds)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import TTLCache

MAX_ENTRIES = 10_000
"""The bound of each look-up cache (users, groups, channels): a flood cannot grow one further."""


class SeenCache:
    """Remembers keys for ``ttl`` seconds, at most ``maxsize`` of them (oldest dropped first)."""

    def __init__(
        self,
        maxsize: int = MAX_ENTRIES,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seen: TTLCache[Hashable, bool] = TTLCache(maxsize, ttl, timer=clock)
        self._lock = threading.Lock()

    def first_time(self, *keys: Hashable | None) -> bool:
        """True (and remember every key) when none of ``keys`` was seen; ``None`` keys are
        ignored. Atomic: of two threads racing with the same key, exactly one gets True."""
        wanted = [k for k in keys if k is not None]
        with self._lock:
            if any(k in self._seen for k in wanted):
                return False
            self._seen.update(dict.fromkeys(wanted, True))
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


class RecentValues:
    """Values kept ``ttl`` seconds, at most ``maxsize`` of them: :meth:`get_or_make` makes a
    key's value at most once per ``ttl`` (two threads racing may both make it)."""

    def __init__(
        self,
        ttl: float,
        maxsize: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._values: TTLCache[Hashable, Any] = TTLCache(maxsize, ttl, timer=clock)
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value kept for ``key``, else ``make()``, kept."""
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
        return value
