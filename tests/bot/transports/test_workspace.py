"""Only the installing workspace: requests of another team or organisation are refused before
any listener, whatever they are; the installing workspace's are served."""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult

from bot.transports.workspace import OTHER_WORKSPACE, from_installing_workspace

HOME = AuthorizeResult(enterprise_id="E1", team_id="T1", bot_user_id="UBOT")


def context(team: str | None, enterprise: str | None, home: AuthorizeResult | None = HOME) -> Any:
    values = {"team_id": team, "enterprise_id": enterprise, "authorize_result": home}
    return BoltContext({k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize(
    "team,enterprise,allowed",
    [
        ("T1", "E1", True),
        ("T1", None, True),  # a payload naming no organisation
        ("T2", "E1", False),  # another workspace of the same organisation
        ("T1", "E2", False),
        ("T2", None, False),
        (None, "E1", False),  # no team at all: nothing to compare, refused
    ],
)
def test_the_team_and_the_organisation_must_be_the_installing_ones(
    team: str | None, enterprise: str | None, allowed: bool
) -> None:
    assert from_installing_workspace(context(team, enterprise)) is allowed


def test_a_request_without_authorization_is_let_through() -> None:
    assert from_installing_workspace(context(None, None, home=None))  # url_verification


def test_a_command_from_another_workspace_is_acked_and_does_nothing(heed: Any) -> None:
    app = heed()
    fake = app.fake
    for extra in ({"team_id": "TOTHER"}, {"enterprise_id": "EOTHER"}):
        envelope = fake.send_slash_command("/classify", "so good", **extra)
        assert fake.wait_for_ack(envelope).payload in (None, {})
    envelope = fake.send_slash_command("/heed-admin", "status", team_id="TOTHER")
    fake.wait_for_ack(envelope)
    time.sleep(0.3)
    assert not fake.calls("chat.postMessage") and not fake.calls("response_url")
    assert app.db.audit.recent() == []
    rejected = app.services.metrics.registry.get_sample_value(
        "heed_http_rejected_total", {"reason": OTHER_WORKSPACE}
    )
    assert rejected == 3
    app.classify("so good")  # the installing workspace is served as before
