"""Which channels are auto-tagged, and by which task."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from bot.cache import TTLCache
from bot.tasks import Task

log = logging.getLogger(__name__)

NAME_TTL = 600.0


class ChannelMatcher:
    """The auto-tag channels (IDs or ``#names``): a name's ``conversations.info`` is cached,
    failures too, and a slow or rate-limited one holds only its own channel's lock."""

    def __init__(self, tasks: Iterable[Task], ttl: float = NAME_TTL) -> None:
        self.owners = {entry: task.name for task in tasks for entry in task.channels}
        """The task each configured ID or ``#name`` belongs to."""
        self.ids = frozenset(e for e in self.owners if not e.startswith("#"))
        self.names = frozenset(e[1:] for e in self.owners if e.startswith("#"))
        self._cache = TTLCache(ttl)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """True when any channel is configured."""
        return bool(self.owners)

    def task_for(self, channel_id: str, lookup: Callable[[str], str | None]) -> str | None:
        """The task whose channels include ``channel_id`` (by ID, or by the name ``lookup``
        gives it), or None when it is not auto-tagged."""
        entry = self._entry(channel_id, lookup)
        return None if entry is None else self.owners[entry]

    def _entry(self, channel_id: str, lookup: Callable[[str], str | None]) -> str | None:
        if channel_id in self.ids:
            return channel_id
        if not self.names or not channel_id:
            return None
        name = self._cache.get(channel_id)
        if name is None:
            with self._lock_for(channel_id):  # one conversations.info per channel in a burst
                name = self._cache.get(channel_id)
                if name is None:
                    try:
                        name = lookup(channel_id) or ""
                    except Exception as exc:
                        log.warning("cannot look up the name of channel %s: %s", channel_id, exc)
                        name = ""
                    self._cache.put(channel_id, name)
                with self._locks_lock:
                    self._locks.pop(channel_id, None)
        return f"#{name}" if name in self.names else None

    def _lock_for(self, channel_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(channel_id, threading.Lock())
