"""Which channels are auto-tagged: IDs, and #names resolved once per channel."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.channels import NAME_TTL, ChannelMatcher
from bot.tasks import Task


def matcher_for(*entries: str, ttl: float = NAME_TTL) -> ChannelMatcher:
    """The matcher of one task auto-tagging ``entries``."""
    return ChannelMatcher([Task("default", Path("m"), channels=entries)], ttl)


def test_channel_matcher_ids_and_names() -> None:
    lookups = []

    def lookup(channel: str) -> str | None:
        lookups.append(channel)
        return {"C7": "support"}.get(channel)

    matcher = matcher_for("C1", "#support")
    assert matcher.enabled and matcher.task_for("C1", lookup) and not lookups
    assert matcher.task_for("C7", lookup) and matcher.task_for("C7", lookup)
    assert not matcher.task_for("C2", lookup) and not matcher.task_for("C2", lookup)
    assert lookups == ["C7", "C2"]  # one lookup per channel
    assert not matcher_for().enabled

    def broken(channel: str) -> str:
        raise OSError("down")

    assert not matcher_for("#x").task_for("C9", broken)


def test_a_burst_in_a_new_channel_costs_one_lookup() -> None:
    lookups = []
    barrier = threading.Barrier(8)

    def lookup(channel: str) -> str:
        lookups.append(channel)
        return "support"

    def attempt(_: int) -> bool:
        barrier.wait()
        return matcher.task_for("C7", lookup)

    matcher = matcher_for("#support")
    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(attempt, range(8)))
    assert lookups == ["C7"]


def test_names_are_looked_up_again_once_they_expire() -> None:
    lookups: list[str] = []
    names = iter(["random", "support"])  # the channel was renamed in between

    def lookup(channel: str) -> str:
        lookups.append(channel)
        return next(names)

    matcher = matcher_for("#support", ttl=0.0)
    assert not matcher.task_for("C7", lookup)
    assert matcher.task_for("C7", lookup)
    assert lookups == ["C7", "C7"]
    assert not matcher.task_for("", lookup) and lookups == ["C7", "C7"]


def test_a_slow_lookup_does_not_hold_up_other_channels() -> None:
    matcher = matcher_for("#support")
    release = threading.Event()

    def lookup(channel: str) -> str:
        if channel == "CSLOW":
            release.wait(5)  # e.g. retrying after a 429
        return "support" if channel == "CFAST" else "random"

    slow = threading.Thread(target=matcher.task_for, args=("CSLOW", lookup))
    slow.start()
    try:
        started = time.monotonic()
        assert matcher.task_for("CFAST", lookup)
        assert time.monotonic() - started < 1
    finally:
        release.set()
        slow.join(5)


def test_each_channel_routes_to_its_task() -> None:
    tasks = [
        Task("default", Path("m"), channels=("C1",)),
        Task("support", Path("m/support"), channels=("#support", "C2")),
    ]
    matcher = ChannelMatcher(tasks)
    names = {"C7": "support", "C8": "random"}.get
    assert matcher.task_for("C1", names) == "default"
    assert matcher.task_for("C2", names) == "support"
    assert matcher.task_for("C7", names) == "support"
    assert matcher.task_for("C8", names) is None and matcher.task_for("", names) is None
