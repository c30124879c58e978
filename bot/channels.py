"""Which channels are auto-tagged, and by which task."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from cachetools import TTLCache, cached

from bot.cache import MAX_ENTRIES
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
        pending = threading.Condition()  # one conversations.info per channel in a burst
        self._name = cached(
            TTLCache(MAX_ENTRIES, ttl), key=lambda channel, _: channel, condition=pending
        )(_channel_name)

    @property
    def enabled(self) -> bool:
        """True when any channel is configured."""
        return bool(self.owners)

    def task_for(self, channel_id: str, lookup: Callable[[str], str | None]) -> str | None:
        """The task auto-tagging ``channel_id`` (by ID or by the name ``lookup`` gives), or None."""
        if channel_id in self.ids:
            return self.owners[channel_id]
        if not self.names or not channel_id:
            return None
        name = self._name(channel_id, lookup)
        return self.owners[f"#{name}"] if name in self.names else None


def _channel_name(channel_id: str, lookup: Callable[[str], str | None]) -> str:
    """The channel's name ("" when unknown: a failure is cached too)."""
    try:
        return lookup(channel_id) or ""
    except Exception as exc:
        log.warning("cannot look up the name of channel %s: %s", channel_id, exc)
        return ""
