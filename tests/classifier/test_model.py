"""Classifier on the tiny random BERT: batching, order, thread safety, explanations."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from classifier import EXPLAIN_METHODS, Classifier

TEXTS = ["great love it", "awful broken refund please", "the box arrived tuesday", "ok"]


@pytest.fixture(scope="module")
def clf(tiny_model: Path) -> Classifier:
    return Classifier.load(str(tiny_model), device="cpu")


def test_predict_keeps_order_and_probabilities_sum_to_one(clf: Classifier) -> None:
    predictions = clf.predict(TEXTS)
    assert len(predictions) == len(TEXTS)
    for prediction, single in zip(predictions, (clf.predict([t])[0] for t in TEXTS), strict=True):
        assert prediction.label == single.label
        assert prediction.confidence == pytest.approx(single.confidence, abs=1e-5)
        assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert prediction.scores[prediction.label] == max(prediction.scores.values())
        assert prediction.model == clf.version


def test_predict_rejects_a_bare_string(clf: Classifier) -> None:
    with pytest.raises(TypeError):
        clf.predict("a text")


def test_concurrent_callers_get_the_sequential_answers(clf: Classifier) -> None:
    expected = [p.scores for p in clf.predict(TEXTS * 5)]
    with ThreadPoolExecutor(8) as pool:
        singles = list(pool.map(lambda t: clf.predict([t])[0].scores, TEXTS * 5))
        explained = list(pool.map(lambda t: clf.explain(t, "rollout").weights, TEXTS * 2))
    for got, want in zip(singles, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-5)
    for first, second in zip(explained[: len(TEXTS)], explained[len(TEXTS) :], strict=True):
        assert first == pytest.approx(second)


@pytest.mark.parametrize("method", EXPLAIN_METHODS)
def test_explanations_align_with_typed_words(clf: Classifier, method: str) -> None:
    text = "Unbelievably  GOOD, wasn't it?"
    explanation = clf.explain(text, method)
    assert explanation.method == method
    assert explanation.words == ["Unbelievably", "GOOD,", "wasn't", "it?"]
    assert len(explanation.weights) == 4
    assert sum(explanation.weights) == pytest.approx(1.0)
    assert all(w >= 0 for w in explanation.weights)
    assert len(explanation.layer_weights) == 2
    assert all(sum(row) == pytest.approx(1.0) for row in explanation.layer_weights)
    assert explanation.prediction.scores == pytest.approx(clf.predict([text])[0].scores, abs=1e-5)


def test_long_text_is_truncated_and_says_so(clf: Classifier) -> None:
    text = " ".join(f"word{i}" for i in range(200))
    explanation = clf.explain(text)
    assert explanation.truncated and explanation.prediction.truncated
    assert 0 < len(explanation.words) < 200
    assert explanation.words[0] == "word0"
    assert clf.predict([text])[0].truncated
    assert not clf.predict(["short"])[0].truncated


def test_eager_twin_shares_weights_with_the_fast_model(clf: Classifier) -> None:
    clf.explain("hello there")
    twin = clf._eager_twin()
    assert twin is not clf.model
    assert twin.config._attn_implementation == "eager"
    assert clf.model.config._attn_implementation == "sdpa"
    for fast, eager in zip(clf.model.parameters(), twin.parameters(), strict=True):
        assert fast.data_ptr() == eager.data_ptr()


def test_bad_explain_requests(clf: Classifier) -> None:
    with pytest.raises(ValueError, match="unknown explanation method"):
        clf.explain("x", "shap")
    with pytest.raises(ValueError, match="empty"):
        clf.explain("   ")


def test_device_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from classifier.model import pick_device

    monkeypatch.setenv("HEED_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")
