"""Which conversations are public: a private channel, a DM or a group DM never is, whether the
payload says so or ``conversations.info`` does; a look-up that fails counts as private and is
asked again next time; an answer is cached."""

from __future__ import annotations

from typing import Any

import pytest

from bot.privacy import ConversationPrivacy

PUBLIC = {"id": "C1", "is_channel": True, "is_private": False, "is_im": False, "is_mpim": False}


class Lookups:
    """``conversations.info`` answering ``info`` (or raising it), counting the calls."""

    def __init__(self, info: Any) -> None:
        self.info, self.calls = info, 0

    def __call__(self, channel: str) -> dict[str, Any]:
        self.calls += 1
        if isinstance(self.info, Exception):
            raise self.info
        return dict(self.info, id=channel)


@pytest.mark.parametrize(
    "info,public",
    [
        (PUBLIC, True),
        ({**PUBLIC, "is_private": True, "is_channel": False, "is_group": True}, False),
        ({**PUBLIC, "is_private": True}, False),  # a newer private channel: is_channel too
        ({**PUBLIC, "is_private": True, "is_mpim": True, "is_channel": False}, False),
        ({**PUBLIC, "is_mpim": True}, False),
        ({"id": "C1", "name": "general"}, False),  # no is_private: not known to be public
    ],
)
def test_only_a_channel_slack_calls_public_is_public(info: dict, public: bool) -> None:
    assert ConversationPrivacy().is_public("C1", {}, Lookups(info)) is public


@pytest.mark.parametrize(
    "channel,body",
    [
        ("D1", {}),
        ("", {}),
        ("C1", {"channel_name": "privategroup"}),
        ("C1", {"channel_name": "directmessage"}),
        ("C1", {"channel_name": "mpdm-ana--bo--cy-1"}),
        ("G1", {"channel": {"id": "G1", "name": "mpdm-ana--bo-1"}}),  # a shortcut's payload
    ],
)
def test_what_the_payload_calls_private_is_never_looked_up(channel: str, body: dict) -> None:
    lookups = Lookups(PUBLIC)
    assert ConversationPrivacy().is_public(channel, body, lookups) is False
    assert lookups.calls == 0


def test_a_failed_look_up_is_private_and_asked_again() -> None:
    privacy, failing = ConversationPrivacy(), Lookups(RuntimeError("ratelimited"))
    assert privacy.is_public("C1", {}, failing) is False
    working = Lookups(PUBLIC)
    assert privacy.is_public("C1", {}, working) is True
    assert privacy.is_public("C1", {"channel_name": "general"}, working) is True
    assert working.calls == 1  # cached
