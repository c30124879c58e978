"""Which conversations are public: only their texts may reach the labelling queue (listed by
``/heed-admin queue``, sent in digest DMs to every labeler and admin)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from cachetools import TTLCache, cached

from bot.cache import MAX_ENTRIES

log = logging.getLogger(__name__)

INFO_TTL = 600.0
PRIVATE_NAMES = ("directmessage", "privategroup")  # a slash command's channel_name there
GROUP_DM_PREFIX = "mpdm-"
PRIVATE_FLAGS = ("is_im", "is_mpim", "is_group")

Lookup = Callable[[str], Mapping[str, Any]]
"""``conversations.info``'s channel object for a channel ID."""


class ConversationPrivacy:
    """Decides whether a conversation is a public channel: the payload's ``channel_name`` when
    it says private, else ``conversations.info`` (cached; a failed look-up is private and not
    cached, so the next text asks again)."""

    def __init__(self, ttl: float = INFO_TTL) -> None:
        pending = threading.Condition()  # one conversations.info per channel in a burst
        self._public = cached(
            TTLCache(MAX_ENTRIES, ttl), key=lambda channel, _: channel, condition=pending
        )(_is_public)

    def is_public(self, channel: str, body: Mapping[str, Any], lookup: Lookup) -> bool:
        """True only for a public channel; DMs, group DMs, private channels and anything
        that cannot be looked up are private."""
        if not channel or channel.startswith("D") or _named_private(body):
            return False
        try:
            return self._public(channel, lookup)
        except Exception as exc:
            log.warning("cannot tell whether %s is public (%s): treated as private", channel, exc)
            return False


def _named_private(body: Mapping[str, Any]) -> bool:
    """The payload names a DM, a private channel or a group DM (commands, shortcuts)."""
    where = body.get("channel")
    name = body.get("channel_name") or (where.get("name") if isinstance(where, Mapping) else None)
    name = str(name or "")
    return name in PRIVATE_NAMES or name.startswith(GROUP_DM_PREFIX)


def _is_public(channel: str, lookup: Lookup) -> bool:
    info = lookup(channel)  # public: Slack says is_private false (missing: private)
    return info.get("is_private") is False and not any(info.get(f) for f in PRIVATE_FLAGS)
