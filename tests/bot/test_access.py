"""Who may use /heed-admin: HEED_ADMINS, and workspace roles via users.info when allowed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.access import AdminCheck, Decision


class Lookup:
    """A stand-in for ``users.info``: answers from ``users``, counts calls, may fail."""

    def __init__(self, users: dict[str, dict[str, Any]], fail: bool = False) -> None:
        self.users, self.fail, self.calls = users, fail, []

    def __call__(self, user_id: str) -> dict[str, Any]:
        self.calls.append(user_id)
        if self.fail:
            raise RuntimeError("ratelimited")
        return self.users.get(user_id, {"id": user_id})


def test_listed_admins_are_allowed_without_a_lookup() -> None:
    lookup = Lookup({})
    check = AdminCheck({"UADMIN"}, from_workspace=True)
    decision = check.check("UADMIN", lookup)
    assert decision == Decision(True, "listed in HEED_ADMINS") and lookup.calls == []


def test_workspace_roles_are_ignored_when_the_flag_is_off() -> None:
    lookup = Lookup({"UBOSS": {"is_admin": True, "is_owner": True}})
    check = AdminCheck({"UADMIN"}, from_workspace=False)
    decision = check.check("UBOSS", lookup)
    assert not decision.allowed and decision.reason == "not listed in HEED_ADMINS"
    assert lookup.calls == []  # users.info is never asked
    assert check.check(None, lookup) == Decision(False, "no user id in the request")


@pytest.mark.parametrize(
    "profile,allowed,why",
    [
        ({"is_admin": True}, True, "workspace admin"),
        ({"is_owner": True}, True, "workspace owner"),
        ({"is_primary_owner": True}, True, "workspace owner"),
        ({}, False, "not a workspace admin or owner"),
        ({"is_admin": True, "deleted": True}, False, "deactivated"),
    ],
)
def test_workspace_admins_and_owners_when_the_flag_is_on(
    profile: dict[str, Any], allowed: bool, why: str
) -> None:
    lookup = Lookup({"U7": profile})
    decision = AdminCheck(set(), from_workspace=True).check("U7", lookup)
    assert decision.allowed is allowed and why in decision.reason
    assert lookup.calls == ["U7"]


def test_workspace_answers_are_cached_briefly_and_failures_are_not() -> None:
    now = [0.0]
    check = AdminCheck(set(), from_workspace=True, ttl=60, clock=lambda: now[0])
    lookup = Lookup({"U7": {"is_admin": True}})
    assert check.check("U7", lookup).allowed and check.check("U7", lookup).allowed
    assert lookup.calls == ["U7"]
    now[0] = 61.0
    assert check.check("U7", lookup).allowed and lookup.calls == ["U7", "U7"]

    failing = Lookup({}, fail=True)
    decision = check.check("U8", failing)
    assert not decision.allowed and "users.info failed (ratelimited)" in decision.reason
    assert not check.check("U8", failing).allowed and failing.calls == ["U8", "U8"]


def test_without_a_lookup_workspace_roles_are_unknown_and_refused() -> None:
    decision = AdminCheck(set(), from_workspace=True).check("U7")
    assert not decision.allowed and "workspace roles unknown" in decision.reason
