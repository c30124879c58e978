"""Who may use /heed-admin (HEED_ADMINS, and workspace roles via users.info when allowed) and who
may label (admins, HEED_LABELERS users and user groups, the asker; members of the installing
workspace only; group look-ups are cached and fail closed)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.access import AdminCheck, Decision, LabelCheck
from bot.cache import MAX_ENTRIES


class Lookup:
    """A stand-in for ``users.info``: answers from ``users``, counts calls, may fail."""

    def __init__(self, users: dict[str, dict[str, Any]], fail: bool = False) -> None:
        self.users, self.fail, self.calls = users, fail, []

    def __call__(self, user_id: str) -> dict[str, Any]:
        self.calls.append(user_id)
        if self.fail:
            raise RuntimeError("ratelimited")
        return self.users.get(user_id, {"id": user_id})


HOME = {"user_team": "T1", "home_team": "T1"}  # a member of the installing workspace


def test_an_admin_of_another_workspace_is_refused_without_a_lookup() -> None:
    lookup = Lookup({"UBOSS": {"is_admin": True}})
    check = AdminCheck({"UADMIN"}, from_workspace=True)
    for user in ("UADMIN", "UBOSS"):  # listed, or an admin there: not an admin here
        decision = check.check(user, lookup, user_team="TOTHER", home_team="T1")
        assert decision == Decision(False, "not a member of the installing workspace (team TOTHER)")
    unknown = check.check("UADMIN", lookup, user_team="T1", home_team=None)
    assert unknown == Decision(False, "the installing workspace is unknown")
    assert lookup.calls == []


def test_listed_admins_are_allowed_without_a_lookup() -> None:
    lookup = Lookup({})
    check = AdminCheck({"UADMIN"}, from_workspace=True)
    decision = check.check("UADMIN", lookup, **HOME)
    assert decision == Decision(True, "listed in HEED_ADMINS") and lookup.calls == []


def test_workspace_roles_are_ignored_when_the_flag_is_off() -> None:
    lookup = Lookup({"UBOSS": {"is_admin": True, "is_owner": True}})
    check = AdminCheck({"UADMIN"}, from_workspace=False)
    decision = check.check("UBOSS", lookup, **HOME)
    assert not decision.allowed and decision.reason == "not listed in HEED_ADMINS"
    assert lookup.calls == []  # users.info is never asked
    assert check.check(None, lookup, **HOME) == Decision(False, "no user id in the request")


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
    decision = AdminCheck(set(), from_workspace=True).check("U7", lookup, **HOME)
    assert decision.allowed is allowed and why in decision.reason
    assert lookup.calls == ["U7"]


def test_workspace_answers_are_cached_briefly_and_failures_are_not() -> None:
    now = [0.0]
    check = AdminCheck(set(), from_workspace=True, ttl=60, clock=lambda: now[0])
    lookup = Lookup({"U7": {"is_admin": True}})
    assert check.check("U7", lookup, **HOME).allowed and check.check("U7", lookup, **HOME).allowed
    assert lookup.calls == ["U7"]
    now[0] = 61.0
    assert check.check("U7", lookup, **HOME).allowed and lookup.calls == ["U7", "U7"]

    failing = Lookup({}, fail=True)
    decision = check.check("U8", failing, **HOME)
    assert not decision.allowed and "users.info failed (ratelimited)" in decision.reason
    assert not check.check("U8", failing, **HOME).allowed and failing.calls == ["U8", "U8"]


class Groups:
    """A stand-in for ``usergroups.users.list``: counts calls, may fail."""

    def __init__(self, groups: dict[str, list[str]], fail: bool = False) -> None:
        self.groups, self.fail, self.calls = groups, fail, []

    def __call__(self, group: str) -> list[str]:
        self.calls.append(group)
        if self.fail:
            raise RuntimeError("ratelimited")
        return self.groups[group]


def check(labels: LabelCheck, user: str | None, team: str | None = "T1", **kw: object) -> Decision:
    kw.setdefault("asker", "UASK")
    kw.setdefault("users_info", Lookup({}))
    kw.setdefault("group_members", Groups({"SGROUP": []}))
    return labels.check(user, user_team=team, home_team="T1", **kw)  # type: ignore[arg-type]


@pytest.fixture
def labels() -> LabelCheck:
    return LabelCheck({"ULAB", "SGROUP"}, AdminCheck({"UADMIN"}, from_workspace=False))


def test_roles_in_order_of_standing(labels: LabelCheck) -> None:
    groups = Groups({"SGROUP": ["UMEMBER", "UASK2"]})
    assert check(labels, "UADMIN").role == "admin"
    assert check(labels, "ULAB") == Decision(True, "listed in HEED_LABELERS", "labeler")
    assert check(labels, "UMEMBER", group_members=groups) == Decision(
        True, "member of SGROUP (HEED_LABELERS)", "labeler"
    )
    assert check(labels, "UASK2", asker="UASK2", group_members=groups).role == "labeler"
    assert check(labels, "UASK", group_members=groups) == Decision(
        True, "asked for this prediction", "asker"
    )
    assert groups.calls == ["SGROUP"]  # cached


def test_everyone_else_is_refused(labels: LabelCheck) -> None:
    groups = Groups({"SGROUP": []})
    refused = check(labels, "UOTHER", group_members=groups)
    assert not refused.allowed and refused.role is None
    assert "not the asker" in refused.reason
    assert not check(labels, "UASK", asker=None, group_members=groups).allowed  # an auto-tag
    assert not check(labels, None, asker="UASK").allowed


@pytest.mark.parametrize("user", ["UADMIN", "ULAB", "UASK"])
@pytest.mark.parametrize("team", ["TOTHER", None])
def test_only_members_of_the_installing_workspace(
    labels: LabelCheck, user: str, team: str | None
) -> None:
    decision = check(labels, user, team)
    assert not decision.allowed
    assert decision.reason == f"not a member of the installing workspace (team {team})"
    no_home = labels.check(
        "UADMIN",
        user_team="T1",
        home_team=None,
        asker=None,
        users_info=Lookup({}),
        group_members=Groups({}),
    )
    assert not no_home.allowed


def test_a_failed_group_lookup_grants_nothing_and_is_retried(labels: LabelCheck) -> None:
    failing = Groups({"SGROUP": ["UMEMBER"]}, fail=True)
    assert not check(labels, "UMEMBER", group_members=failing).allowed
    assert check(labels, "UASK", group_members=failing).role == "asker"
    working = Groups({"SGROUP": ["UMEMBER"]})
    assert check(labels, "UMEMBER", group_members=working).role == "labeler"
    assert len(failing.calls) == 2 and working.calls == ["SGROUP"]


def test_a_flood_of_users_cannot_grow_the_lookup_cache_past_its_bound() -> None:
    check = AdminCheck(set(), from_workspace=True)
    for n in range(MAX_ENTRIES + 50):
        check.check(f"U{n}", lambda user: {}, user_team="T1", home_team="T1")
    assert len(check._cache) == MAX_ENTRIES
