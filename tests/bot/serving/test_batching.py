"""MicroBatcher: one call per burst, results matched to their callers, failures contained;
ExplainBatcher: concurrent one-pass explanations batched, each caller its own answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.serving.batching import ExplainBatcher, MicroBatcher
from classifier import Classifier
from classifier.types import ExplanationUnavailable
from tests.bot.stubs import StubClassifier


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


TEXTS = [
    "great love it",
    "awful broken refund please",
    "the box arrived tuesday",
    "ok",
    "a much longer message about a parcel that came late and damaged in the rain",
]


@pytest.fixture(scope="module")
def clf(tiny_model: Path) -> Classifier:
    return Classifier.load(str(tiny_model), device="cpu")


class Counting:
    """Wraps a classifier and records the size of every ``explain_many`` call."""

    def __init__(self, inner: Classifier) -> None:
        self.inner, self.calls = inner, []
        self.started = threading.Event()
        self.release = threading.Event()

    def explain(self, text: str, method: str):
        return self.inner.explain(text, method)

    def explain_many(self, texts: list[str], method: str):
        self.calls.append(len(texts))
        self.started.set()
        self.release.wait(5)
        return self.inner.explain_many(texts, method)


def test_concurrent_requests_are_batched_and_each_gets_its_own_text(clf: Classifier) -> None:
    counting = Counting(clf)
    batcher = ExplainBatcher()
    texts = TEXTS * 4
    with ThreadPoolExecutor(len(texts)) as pool:
        first = pool.submit(batcher.explain, counting, "hold the worker", "attn-grad")
        assert counting.started.wait(5)  # the worker is busy: the rest queue up
        futures = [pool.submit(batcher.explain, counting, t, "attn-grad") for t in texts]
        counting.release.set()
        got = [f.result(timeout=30) for f in futures]
        assert first.result(timeout=30).words == ["hold", "the", "worker"]
    assert sum(counting.calls) == len(texts) + 1
    assert len(counting.calls) < len(texts)  # batched, not one pass per request
    for explanation, text in zip(got, texts, strict=True):
        alone = clf.explain(text, "attn-grad")
        assert explanation.words == text.split()
        assert explanation.weights == pytest.approx(alone.weights, abs=1e-4)
        assert explanation.prediction.label == alone.prediction.label
    batcher.close()


def test_other_methods_run_in_the_callers_thread(clf: Classifier) -> None:
    counting = Counting(clf)
    batcher = ExplainBatcher()
    assert batcher.explain(counting, "great love it", "rollout").method == "rollout"
    assert counting.calls == []
    batcher.close()


def test_a_failing_group_fails_only_its_own_callers() -> None:
    broken = StubClassifier(unavailable=("attn-grad",))
    fine = StubClassifier(label="negative")
    batcher = ExplainBatcher()
    with ThreadPoolExecutor(8) as pool:
        bad = [pool.submit(batcher.explain, broken, f"text {i}", "attn-grad") for i in range(4)]
        good = [pool.submit(batcher.explain, fine, f"text {i}", "attn-grad") for i in range(4)]
        for future in bad:
            with pytest.raises(ExplanationUnavailable):
                future.result(timeout=5)
        assert [f.result(timeout=5).words for f in good] == [["text", str(i)] for i in range(4)]
    batcher.close()
