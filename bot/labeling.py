"""Who may label a prediction, and with what role: a Heed admin (``admin``), a user or user-group
member listed in ``HEED_LABELERS`` (``labeler``), or the person who asked for it (``asker``).

Only members of the workspace that installed Heed qualify (Slack Connect users from other
workspaces are refused whatever else is true of them). Group memberships are cached for
:data:`CACHE_TTL` seconds; a failed lookup is not cached and grants nothing (fail closed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.access import AdminCheck, UserLookup
from bot.cache import TTLCache
from bot.database.labels import ADMIN, ASKER, LABELER

log = logging.getLogger(__name__)

CACHE_TTL = 60.0

GroupLookup = Callable[[str], Iterable[str]]
"""``usergroup_id -> its members' user ids`` (raises on failure)."""


@dataclass(frozen=True)
class LabelDecision:
    """Whether a user may label, with which role, and why (for the audit log)."""

    allowed: bool
    role: str | None
    reason: str


class LabelCheck:
    """Decides who may label (thread-safe)."""

    def __init__(
        self,
        labelers: Iterable[str],
        admin: AdminCheck,
        *,
        ttl: float = CACHE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        listed = frozenset(labelers)
        self.users = frozenset(x for x in listed if not x.startswith("S"))
        self.groups = tuple(sorted(x for x in listed if x.startswith("S")))
        self.admin = admin
        self._groups = TTLCache(ttl, clock)

    def check(
        self,
        user_id: str | None,
        *,
        user_team: str | None,
        home_team: str | None,
        asker: str | None,
        users_info: UserLookup | None = None,
        group_members: GroupLookup | None = None,
    ) -> LabelDecision:
        """Decide for ``user_id`` (of workspace ``user_team``) on a prediction ``asker`` asked
        for, in the workspace ``home_team`` that installed Heed."""
        if not user_id:
            return LabelDecision(False, None, "no user id in the request")
        if not home_team:
            return LabelDecision(False, None, "the installing workspace is unknown")
        if user_team != home_team:
            return LabelDecision(
                False, None, f"not a member of the installing workspace (team {user_team})"
            )
        admin = self.admin.check(user_id, users_info)
        if admin.allowed:
            return LabelDecision(True, ADMIN, f"admin: {admin.reason}")
        if user_id in self.users:
            return LabelDecision(True, LABELER, "listed in HEED_LABELERS")
        group = self._group_of(user_id, group_members)
        if group:
            return LabelDecision(True, LABELER, f"member of {group} (HEED_LABELERS)")
        if asker and user_id == asker:
            return LabelDecision(True, ASKER, "asked for this prediction")
        return LabelDecision(
            False, None, "not the asker, not in HEED_LABELERS and not a Heed admin"
        )

    def _group_of(self, user_id: str, lookup: GroupLookup | None) -> str | None:
        """The first listed user group ``user_id`` belongs to, or None."""
        for group in self.groups:
            members = self._groups.get(group)
            if members is None:
                if lookup is None:
                    continue
                try:
                    members = frozenset(lookup(group))
                except Exception as exc:
                    why = " ".join(str(exc).split())[:80] or type(exc).__name__
                    log.warning("usergroups.users.list for %s failed: %s", group, why)
                    continue
                self._groups.put(group, members)
            if user_id in members:  # type: ignore[operator]
                return group
        return None
