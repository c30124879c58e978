"""Who may use ``/heed-admin``: a user listed in ``HEED_ADMINS`` or, when
``HEED_ADMINS_FROM_WORKSPACE=true``, a workspace admin or owner according to ``users.info``.

Workspace answers are cached for :data:`CACHE_TTL` seconds, so a burst of commands costs one
lookup and a demoted admin loses access within a minute; a failed lookup is not cached and
refuses (fail closed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.cache import TTLCache

log = logging.getLogger(__name__)

CACHE_TTL = 60.0

UserLookup = Callable[[str], Mapping[str, Any]]
"""``user_id -> users.info's "user" object`` (raises on failure)."""


@dataclass(frozen=True)
class Decision:
    """Whether a user may use the admin command, and why (for the audit log)."""

    allowed: bool
    reason: str


class AdminCheck:
    """Decides whether ``user_id`` is a Heed admin (thread-safe)."""

    def __init__(
        self,
        admins: Iterable[str],
        from_workspace: bool,
        *,
        ttl: float = CACHE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.admins = frozenset(admins)
        self.from_workspace = from_workspace
        self._cache = TTLCache(ttl, clock)

    def check(self, user_id: str | None, lookup: UserLookup | None = None) -> Decision:
        """Decide for ``user_id``; ``lookup`` (``users.info``) is called only when the
        workspace flag is on and the user is not listed."""
        if not user_id:
            return Decision(False, "no user id in the request")
        if user_id in self.admins:
            return Decision(True, "listed in HEED_ADMINS")
        if not self.from_workspace:
            return Decision(False, "not listed in HEED_ADMINS")
        cached = self._cache.get(user_id)
        if isinstance(cached, Decision):
            return cached
        if lookup is None:
            return Decision(False, "not listed in HEED_ADMINS; workspace roles unknown")
        try:
            user = lookup(user_id)
        except Exception as exc:
            why = " ".join(str(exc).split())[:80] or type(exc).__name__
            log.warning("users.info for %s failed: %s", user_id, why)
            return Decision(False, f"not listed in HEED_ADMINS; users.info failed ({why})")
        decision = _from_profile(user)
        self._cache.put(user_id, decision)
        return decision


def _from_profile(user: Mapping[str, Any]) -> Decision:
    if user.get("deleted"):
        return Decision(False, "the account is deactivated")
    if user.get("is_primary_owner") or user.get("is_owner"):
        return Decision(True, "workspace owner (HEED_ADMINS_FROM_WORKSPACE=true)")
    if user.get("is_admin"):
        return Decision(True, "workspace admin (HEED_ADMINS_FROM_WORKSPACE=true)")
    return Decision(False, "not listed in HEED_ADMINS and not a workspace admin or owner")
