"""Who may label: admins, HEED_LABELERS (users and user groups) and the asker, members of the
installing workspace only; group look-ups are cached and fail closed."""

from __future__ import annotations

import pytest

from bot.access import AdminCheck
from bot.labeling import LabelCheck, LabelDecision


class Groups:
    """A stand-in for ``usergroups.users.list``: counts calls, may fail."""

    def __init__(self, groups: dict[str, list[str]], fail: bool = False) -> None:
        self.groups, self.fail, self.calls = groups, fail, []

    def __call__(self, group: str) -> list[str]:
        self.calls.append(group)
        if self.fail:
            raise RuntimeError("ratelimited")
        return self.groups[group]


def check(labels: LabelCheck, user: str, team: str | None = "T1", **kw: object) -> LabelDecision:
    kw.setdefault("asker", "UASK")
    return labels.check(user, user_team=team, home_team="T1", **kw)  # type: ignore[arg-type]


@pytest.fixture
def labels() -> LabelCheck:
    return LabelCheck({"ULAB", "SGROUP"}, AdminCheck({"UADMIN"}, from_workspace=False))


def test_roles_in_order_of_standing(labels: LabelCheck) -> None:
    groups = Groups({"SGROUP": ["UMEMBER", "UASK2"]})
    assert check(labels, "UADMIN").role == "admin"
    assert check(labels, "ULAB") == LabelDecision(True, "labeler", "listed in HEED_LABELERS")
    assert check(labels, "UMEMBER", group_members=groups) == LabelDecision(
        True, "labeler", "member of SGROUP (HEED_LABELERS)"
    )
    assert check(labels, "UASK2", asker="UASK2", group_members=groups).role == "labeler"
    assert check(labels, "UASK", group_members=groups) == LabelDecision(
        True, "asker", "asked for this prediction"
    )
    assert groups.calls == ["SGROUP"]  # cached


def test_everyone_else_is_refused(labels: LabelCheck) -> None:
    groups = Groups({"SGROUP": []})
    refused = check(labels, "UOTHER", group_members=groups)
    assert not refused.allowed and refused.role is None
    assert "not the asker" in refused.reason
    assert not check(labels, "UASK", asker=None, group_members=groups).allowed  # an auto-tag
    assert not labels.check(None, user_team="T1", home_team="T1", asker="UASK").allowed


@pytest.mark.parametrize("user", ["UADMIN", "ULAB", "UASK"])
@pytest.mark.parametrize("team", ["TOTHER", None])
def test_only_members_of_the_installing_workspace(
    labels: LabelCheck, user: str, team: str | None
) -> None:
    decision = check(labels, user, team)
    assert not decision.allowed
    assert decision.reason == f"not a member of the installing workspace (team {team})"
    assert not labels.check("UADMIN", user_team="T1", home_team=None, asker=None).allowed


def test_a_failed_group_lookup_grants_nothing_and_is_retried(labels: LabelCheck) -> None:
    failing = Groups({"SGROUP": ["UMEMBER"]}, fail=True)
    assert not check(labels, "UMEMBER", group_members=failing).allowed
    assert check(labels, "UASK", group_members=failing).role == "asker"
    working = Groups({"SGROUP": ["UMEMBER"]})
    assert check(labels, "UMEMBER", group_members=working).role == "labeler"
    assert len(failing.calls) == 2 and working.calls == ["SGROUP"]
