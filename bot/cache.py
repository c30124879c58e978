"""A bounded, thread-safe set of recently seen keys, for de-duplicating redelivered events."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class SeenCache:
    """Remembers keys for ``ttl`` seconds, at most ``maxsize`` of them (oldest dropped first)."""

    def __init__(
        self,
        maxsize: int = 10_000,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maxsize, self.ttl, self._clock = maxsize, ttl, clock
        self._seen: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self.ttl and len(self._seen) <= self.maxsize:
                break
            self._seen.pop(key)

    def first_time(self, *keys: Hashable | None) -> bool:
        """True (and remember every key) when none of ``keys`` was seen; ``None`` keys are
        ignored. Atomic: of two threads racing with the same key, exactly one gets True."""
        wanted = [k for k in keys if k is not None]
        with self._lock:
            now = self._clock()
            self._expire(now)
            if any(k in self._seen for k in wanted):
                return False
            for key in wanted:
                self._seen[key] = now
            self._expire(now)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


class TTLCache:
    """A small thread-safe ``key -> value`` cache whose entries expire after ``ttl`` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._clock = ttl, clock
        self._items: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: object = None) -> object:
        """The cached value, or ``default`` when absent or expired."""
        with self._lock:
            item = self._items.get(key)
            if item is None or self._clock() - item[0] >= self.ttl:
                return default
            return item[1]

    def put(self, key: Hashable, value: object) -> None:
        """Cache ``value`` under ``key`` from now on."""
        with self._lock:
            self._items[key] = (self._clock(), value)
