"""Per-user token buckets: a burst up to the limit, then one request per 60/limit seconds."""

from __future__ import annotations

import pytest

from bot import ratelimit
from bot.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_a_wait_per_user() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    assert [limiter.wait_for("U1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_for("U1") == 20.0  # 3 a minute: the next token in 20 s
    assert limiter.wait_for("U2") == 0.0  # someone else is not slowed down
    clock.now = 20.0
    assert limiter.wait_for("U1") == 0.0
    assert limiter.wait_for("U1") > 0


def test_zero_means_no_limit() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.wait_for("U1") == 0.0 for _ in range(1000))


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_USERS", 10)
    limiter = RateLimiter(5)
    for i in range(100):
        limiter.wait_for(f"U{i}")
    assert len(limiter) <= 10
