"""MicroBatcher: one call per burst, results matched to their callers, failures contained."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.serving.batching import MicroBatcher


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


def test_close_processes_what_is_queued() -> None:
    fn = Recorder(delay=0.05)
    batcher = MicroBatcher(fn, max_batch=2, max_wait=0.0)
    futures = [batcher.submit(str(i)) for i in range(5)]
    batcher.close()
    assert [f.result(timeout=0) for f in futures] == ["0", "1", "2", "3", "4"]
