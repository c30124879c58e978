"""The caches: seen keys (request signatures) and recently made values."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from bot.cache import RecentValues, SeenCache


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


def test_recent_values_are_made_once_per_ttl_and_bounded() -> None:
    now, made = [0.0], []
    views = RecentValues(ttl=5, maxsize=2, clock=lambda: now[0])

    def make(key: str) -> str:
        made.append(key)
        return f"view of {key}"

    assert views.get_or_make("U1", lambda: make("U1")) == "view of U1"
    assert views.get_or_make("U1", lambda: make("U1")) == "view of U1" and made == ["U1"]
    for key in ("U2", "U3"):  # a third user pushes the oldest out
        views.get_or_make(key, lambda key=key: make(key))
    views.get_or_make("U1", lambda: make("U1"))
    now[0] = 6.0
    views.get_or_make("U1", lambda: make("U1"))
    assert made == ["U1", "U2", "U3", "U1", "U1"]
