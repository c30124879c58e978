"""Reading messages: permalinks, and a channel's history by pages within the rate limits."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack_api.client import make_client
from bot.slack_api.history import PAGE_SIZE, history, permalink
from tests.bot.stubs import settings
from tests.support.fakeslack import FakeSlack


def test_a_permalink_or_none(fake: FakeSlack) -> None:
    client = make_client(settings(fake.api_url))
    [ts] = fake.add_history("C1", ["hello"])
    assert permalink(client, "C1", ts) == (
        f"https://heed-test.slack.com/archives/C1/p{ts.replace('.', '')}"
    )
    assert permalink(client, "C1", "1.000001") is None  # message_not_found: logged, no link


def test_history_pages_newest_first_up_to_the_limit_pausing_between_pages(
    fake: FakeSlack,
) -> None:
    client = make_client(settings(fake.api_url))
    stamps = fake.add_history("C1", [f"message {i}" for i in range(450)])
    fake.fail_next("conversations.history", status=429, retry_after=0)  # waited out, retried
    pauses: list[float] = []
    pages = list(history(client, "C1", limit=430, pause=0.5, sleep=pauses.append))
    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 30]
    read = [m["ts"] for page in pages for m in page]
    assert read == list(reversed(stamps))[:430]
    assert pauses == [0.5, 0.5]
    calls = fake.calls("conversations.history")
    assert [c.params.get("limit") for c in calls if c.status == 200] == ["200", "200", "30"]
    assert calls[-1].params["cursor"] == "offset:400"


def test_history_stops_at_oldest_and_at_the_last_page(fake: FakeSlack) -> None:
    client = make_client(settings(fake.api_url))
    stamps = fake.add_history("C1", [f"m{i}" for i in range(10)])
    since = float(stamps[6])  # the last three are newer
    pages = list(history(client, "C1", limit=100, oldest=since, sleep=lambda _: None))
    assert [m["ts"] for m in pages[0]] == list(reversed(stamps[7:]))
    assert len(fake.calls("conversations.history")) == 1


def test_history_raises_slacks_error(fake: FakeSlack) -> None:
    client = make_client(settings(fake.api_url))
    fake.fail_next("conversations.history", error="not_in_channel")
    with pytest.raises(SlackApiError):
        list(history(client, "C1", limit=10))
