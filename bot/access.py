"""Who may do what: ``/heed-admin`` (:class:`AdminCheck`) and labelling a prediction
(:class:`LabelCheck`), each decision with its reason for the audit log.

Slack look-ups are cached for :data:`CACHE_TTL` seconds, so a burst costs one call and a
demoted admin loses access within a minute; a failed look-up is not cached and grants nothing
(fail closed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache

from bot.cache import MAX_ENTRIES
from bot.database.labels import ADMIN, ASKER, LABELER

log = logging.getLogger(__name__)

CACHE_TTL = 60.0

UserLookup = Callable[[str], Mapping[str, Any]]
"""``user_id -> users.info's "user" object`` (raises on failure)."""
GroupLookup = Callable[[str], Iterable[str]]
"""``usergroup_id -> its members' user ids`` (raises on failure)."""


@dataclass(frozen=True)
class Decision:
    """Whether a user may act, why (for the audit log) and, for labelling, with which role."""

    allowed: bool
    reason: str
    role: str | None = None


def _other_workspace(user_team: str | None, home_team: str | None) -> Decision | None:
    """The refusal for a user outside the installing workspace (a Slack Connect guest), or
    None for a member."""
    if not home_team:
        return Decision(False, "the installing workspace is unknown")
    if user_team != home_team:
        return Decision(False, f"not a member of the installing workspace (team {user_team})")
    return None


def _failure(exc: Exception) -> str:
    return " ".join(str(exc).split())[:80] or type(exc).__name__


class AdminCheck:
    """Is ``user_id`` a Heed admin: listed in ``HEED_ADMINS`` or, when ``from_workspace``, a
    workspace admin or owner according to ``users.info``; a member of the installing
    workspace either way (thread-safe)."""

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
        self._cache: TTLCache[str, Decision] = TTLCache(MAX_ENTRIES, ttl, timer=clock)
        self._lock = threading.Lock()

    def check(
        self,
        user_id: str | None,
        lookup: UserLookup,
        *,
        user_team: str | None,
        home_team: str | None,
    ) -> Decision:
        """Decide for ``user_id`` (of workspace ``user_team``) in the workspace ``home_team``
        that installed Heed; ``lookup`` (``users.info``) only for an unlisted user."""
        if not user_id:
            return Decision(False, "no user id in the request")
        outside = _other_workspace(user_team, home_team)
        if outside is not None:
            return outside
        if user_id in self.admins:
            return Decision(True, "listed in HEED_ADMINS")
        if not self.from_workspace:
            return Decision(False, "not listed in HEED_ADMINS")
        with self._lock:
            cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        try:
            user = lookup(user_id)
        except Exception as exc:
            why = _failure(exc)
            log.warning("users.info for %s failed: %s", user_id, why)
            return Decision(False, f"not listed in HEED_ADMINS; users.info failed ({why})")
        decision = _from_profile(user)
        with self._lock:
            self._cache[user_id] = decision
        return decision


def _from_profile(user: Mapping[str, Any]) -> Decision:
    if user.get("deleted"):
        return Decision(False, "the account is deactivated")
    if user.get("is_primary_owner") or user.get("is_owner"):
        return Decision(True, "workspace owner (HEED_ADMINS_FROM_WORKSPACE=true)")
    if user.get("is_admin"):
        return Decision(True, "workspace admin (HEED_ADMINS_FROM_WORKSPACE=true)")
    return Decision(False, "not listed in HEED_ADMINS and not a workspace admin or owner")


class LabelCheck:
    """Who may label, as which role: an admin, a ``HEED_LABELERS`` user or group member, or the
    asker; members of the installing workspace only, not Slack Connect guests (thread-safe)."""

    def __init__(self, labelers: Iterable[str], admin: AdminCheck) -> None:
        listed = frozenset(labelers)
        self.users = frozenset(x for x in listed if not x.startswith("S"))
        self.groups = tuple(sorted(x for x in listed if x.startswith("S")))
        self.admin = admin
        self._groups: TTLCache[str, frozenset[str]] = TTLCache(MAX_ENTRIES, CACHE_TTL)
        self._lock = threading.Lock()

    def check(
        self,
        user_id: str | None,
        *,
        user_team: str | None,
        home_team: str | None,
        asker: str | None,
        users_info: UserLookup,
        group_members: GroupLookup,
    ) -> Decision:
        """Decide for ``user_id`` (of workspace ``user_team``) on a prediction ``asker`` asked
        for, in the workspace ``home_team`` that installed Heed."""
        if not user_id:
            return Decision(False, "no user id in the request")
        outside = _other_workspace(user_team, home_team)
        if outside is not None:
            return outside
        admin = self.admin.check(user_id, users_info, user_team=user_team, home_team=home_team)
        if admin.allowed:
            return Decision(True, f"admin: {admin.reason}", ADMIN)
        if user_id in self.users:
            return Decision(True, "listed in HEED_LABELERS", LABELER)
        group = self._group_of(user_id, group_members)
        if group:
            return Decision(True, f"member of {group} (HEED_LABELERS)", LABELER)
        if asker and user_id == asker:
            return Decision(True, "asked for this prediction", ASKER)
        return Decision(False, "not the asker, not in HEED_LABELERS and not a Heed admin")

    def _group_of(self, user_id: str, lookup: GroupLookup) -> str | None:
        """The first listed user group ``user_id`` belongs to, or None."""
        for group in self.groups:
            with self._lock:
                members = self._groups.get(group)
            if members is None:
                try:
                    members = frozenset(lookup(group))
                except Exception as exc:
                    log.warning("usergroups.users.list for %s failed: %s", group, _failure(exc))
                    continue
                with self._lock:
                    self._groups[group] = members
            if user_id in members:
                return group
        return None
