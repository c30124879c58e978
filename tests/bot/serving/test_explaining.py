"""ExplainBatcher: concurrent one-pass explanations batched, each caller its own answer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.serving.explaining import ExplainBatcher
from classifier import Classifier
from classifier.types import ExplanationUnavailable
from tests.bot.stubs import StubClassifier

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
