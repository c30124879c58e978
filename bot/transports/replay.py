"""Replay protection for HTTP mode: a signed request is accepted once. Slack's signature only
dates a request (five minutes either way), so without this a captured request could be sent
again and again inside that window."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.cache import SeenCache
from bot.database.signatures import WINDOW_S

log = logging.getLogger(__name__)

Claim = Callable[[str, int], bool]
"""``(signature, timestamp) -> first time anywhere`` (the database, across replicas)."""


class ReplayGuard:
    """Is this the first time any replica sees a request signature? This replica's memory
    answers a repeat at once; the database decides between replicas. When the database fails,
    memory alone decides (logged), so an outage neither lets repeats in here nor stops Heed."""

    def __init__(self, claim: Claim | None) -> None:
        self.claim = claim
        self._seen = SeenCache(ttl=2 * WINDOW_S)

    def first_time(self, signature: str, timestamp: int) -> bool:
        """True once per signature; False for every replay of it."""
        if not self._seen.first_time(signature):
            return False
        if self.claim is None:
            return True
        try:
            return self.claim(signature, timestamp)
        except Exception as exc:
            log.warning(
                "cannot record a request signature (%s); refusing repeats on this replica only",
                type(exc).__name__,
            )
            return True
