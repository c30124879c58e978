"""The Web API client: the bot token, SLACK_API_URL and the retry handlers."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.slack_api.client import make_client, usergroup_members, users_info
from tests.bot.stubs import settings
from tests.support.fakeslack import FakeSlack


def test_client_has_the_retry_handlers(fake: FakeSlack) -> None:
    client = make_client(settings(fake.api_url))
    kinds = [type(h) for h in client.retry_handlers]
    assert RateLimitErrorRetryHandler in kinds and ConnectionErrorRetryHandler in kinds
    assert kinds.count(ConnectionErrorRetryHandler) == 1
    limit = next(h for h in client.retry_handlers if isinstance(h, RateLimitErrorRetryHandler))
    assert limit.max_retry_count == 3 and client.base_url == fake.api_url
    assert client.token == "xoxb-test"


def test_a_rate_limited_call_is_retried(fake: FakeSlack) -> None:
    client = make_client(settings(fake.api_url))
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.status for c in fake.calls("chat.postMessage")] == [429, 200]


def test_without_slack_api_url_it_talks_to_slack() -> None:
    assert make_client(settings()).base_url == WebClient.BASE_URL


def test_a_failed_lookup_is_a_short_runtime_error(fake: FakeSlack) -> None:
    client = make_client(settings(fake.api_url))
    fake.fail_next("users.info", error="user_not_found")
    with pytest.raises(RuntimeError, match=r"^user_not_found$"):
        users_info(client, "U1")
    fake.fail_next("usergroups.users.list", error="no_such_subteam")
    with pytest.raises(RuntimeError, match=r"^no_such_subteam$"):
        usergroup_members(client, "S1")
