"""MicroBatcher, the de-duplication cache, the TTL cache and the channel matcher."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.batching import MicroBatcher
from bot.cache import SeenCache, TTLCache
from bot.services import ChannelMatcher


class Recorder:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.delay = delay

    def __call__(self, items: list[str]) -> list[str]:
        self.calls.append(list(items))
        time.sleep(self.delay)
        return [item.upper() for item in items]


def test_ten_texts_at_once_take_at_most_two_calls() -> None:
    fn = Recorder()
    batcher = MicroBatcher(fn, max_batch=32, max_wait=0.05)
    futures = [batcher.submit(f"text {i}") for i in range(10)]
    assert [f.result(timeout=5) for f in futures] == [f"TEXT {i}" for i in range(10)]
    assert len(fn.calls) <= 2 and sum(map(len, fn.calls)) == 10
    batcher.close()


def test_concurrent_submitters_are_batched_and_results_matched() -> None:
    fn = Recorder(delay=0.02)
    batcher = MicroBatcher(fn, max_batch=8, max_wait=0.05)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: batcher.submit(str(i)).result(timeout=5), range(40)))
    assert results == [str(i) for i in range(40)]
    assert all(len(call) <= 8 for call in fn.calls) and len(fn.calls) < 40
    batcher.close()


def test_a_lone_item_waits_at_most_max_wait() -> None:
    batcher = MicroBatcher(Recorder(), max_wait=0.05)
    started = time.monotonic()
    assert batcher.submit("x").result(timeout=5) == "X"
    assert time.monotonic() - started < 1.0
    batcher.close()


def test_a_failing_batch_fails_its_futures_only() -> None:
    calls = []

    def fn(items: list[str]) -> list[str]:
        calls.append(items)
        if "bad" in items:
            raise RuntimeError("model exploded")
        return items

    batcher = MicroBatcher(fn, max_wait=0.0)
    with pytest.raises(RuntimeError, match="model exploded"):
        batcher.submit("bad").result(timeout=5)
    assert batcher.submit("good").result(timeout=5) == "good"
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit("late")


def test_wrong_result_count_is_an_error() -> None:
    batcher = MicroBatcher(lambda items: [], max_wait=0.0)
    with pytest.raises(RuntimeError, match="0 results for 1"):
        batcher.submit("x").result(timeout=5)
    batcher.close()


def test_seen_cache_dedupes_on_any_key() -> None:
    seen = SeenCache()
    assert seen.first_time("Ev1", ("C1", "1.1"))
    assert not seen.first_time("Ev1", ("C1", "1.1"))  # redelivery
    assert not seen.first_time("Ev2", ("C1", "1.1"))  # same message, other event id
    assert not seen.first_time("Ev1", ("C1", "2.2"))
    assert seen.first_time("Ev3", ("C1", "3.3")) and seen.first_time(None, ("C1", "4.4"))


def test_seen_cache_is_bounded_and_expires() -> None:
    now = [0.0]
    seen = SeenCache(maxsize=3, ttl=10, clock=lambda: now[0])
    for key in "abcd":
        assert seen.first_time(key)
    assert len(seen) == 3 and seen.first_time("a")  # evicted oldest
    now[0] = 11.0
    assert seen.first_time("d") and len(seen) == 1


def test_seen_cache_race_has_one_winner() -> None:
    seen = SeenCache()
    barrier = threading.Barrier(8)

    def attempt(_: int) -> bool:
        barrier.wait()
        return seen.first_time("Ev", ("C", "1"))

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(attempt, range(8))) == 1


def test_ttl_cache() -> None:
    now = [0.0]
    cache = TTLCache(ttl=5, clock=lambda: now[0])
    cache.put("C1", "general")
    assert cache.get("C1") == "general" and cache.get("C2", "?") == "?"
    now[0] = 5.0
    assert cache.get("C1") is None


def test_channel_matcher_ids_and_names() -> None:
    lookups = []

    def lookup(channel: str) -> str | None:
        lookups.append(channel)
        return {"C7": "support"}.get(channel)

    matcher = ChannelMatcher(("C1", "#support"))
    assert matcher.enabled and matcher.matches("C1", lookup) and not lookups
    assert matcher.matches("C7", lookup) and matcher.matches("C7", lookup)
    assert not matcher.matches("C2", lookup) and not matcher.matches("C2", lookup)
    assert lookups == ["C7", "C2"]  # one lookup per channel
    assert not ChannelMatcher(()).enabled

    def broken(channel: str) -> str:
        raise OSError("down")

    assert not ChannelMatcher(("#x",)).matches("C9", broken)
