"""Classifier on the tiny random BERT: batching, order, thread safety, explanations."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from classifier import EXPLAIN_METHODS, Classifier
from classifier.types import DEFAULT_EXPLAIN_METHOD

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


def test_explain_uses_the_default_method_unless_told(clf: Classifier) -> None:
    assert clf.explain("fine, thanks").method == DEFAULT_EXPLAIN_METHOD
    assert clf.explain("fine, thanks", "attention").method == "attention"


def test_bad_explain_requests(clf: Classifier) -> None:
    with pytest.raises(ValueError, match="unknown explanation method"):
        clf.explain("x", "shap")
    with pytest.raises(ValueError, match="empty"):
        clf.explain("   ")


def test_device_choice() -> None:
    from classifier.device import pick_device

    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device() == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_batched_attn_grad_matches_one_at_a_time(clf: Classifier) -> None:
    texts = [*TEXTS, "a much longer text so that the batch really is padded on the right"]
    batched = clf.explain_many(texts, "attn-grad")
    for got, text in zip(batched, texts, strict=True):
        alone = clf.explain(text, "attn-grad")
        assert got.words == alone.words
        assert got.weights == pytest.approx(alone.weights, abs=1e-4)
        assert got.signed_weights == pytest.approx(alone.signed_weights, abs=1e-4)
        assert got.prediction.scores == pytest.approx(alone.prediction.scores, abs=1e-5)


def test_attn_grad_is_signed_chefer_relevance_of_the_predicted_logit(clf: Classifier) -> None:
    text = "great love it"  # one token per word
    explanation = clf.explain(text, "attn-grad")
    ids = torch.tensor([clf.tokenizer(text)["input_ids"]])
    inputs = clf.model.get_input_embeddings()(ids).detach().requires_grad_(True)
    out = clf._eager_twin()(inputs_embeds=inputs, output_attentions=True)
    logits = out.logits[0]
    grads = torch.autograd.grad(logits[int(logits.argmax())], out.attentions)
    relevance = torch.eye(ids.shape[1])
    for attention, grad in zip(out.attentions, grads, strict=True):
        relevance = relevance + (grad[0] * attention[0]).mean(dim=0) @ relevance
    tokens = relevance[0, 1:-1].detach()
    want = (tokens / tokens.abs().sum()).tolist()
    assert explanation.signed_weights == pytest.approx(want, abs=1e-4)
    assert sum(abs(w) for w in explanation.signed_weights) == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["gradient", "attn-grad"])
def test_signed_methods_give_evidence_against_too(clf: Classifier, method: str) -> None:
    explanation = clf.explain("the box arrived late but the product is fine overall", method)
    signed = explanation.signed_weights
    assert len(signed) == len(explanation.words)
    assert min(signed) < 0 < max(signed)  # a random model weighs words both ways
    positive = [max(w, 0.0) for w in signed]
    assert explanation.weights == pytest.approx([w / sum(positive) for w in positive])


@pytest.mark.parametrize("method", ["attention", "rollout"])
def test_attention_methods_are_unsigned(clf: Classifier, method: str) -> None:
    assert clf.explain("great love it", method).signed_weights == []


def test_concurrent_attn_grad_explanations_are_each_their_own(clf: Classifier) -> None:
    texts = TEXTS * 4
    expected = [clf.explain(t, "attn-grad").signed_weights for t in texts]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda t: clf.explain(t, "attn-grad").signed_weights, texts))
    for g, want in zip(got, expected, strict=True):
        assert g == pytest.approx(want, abs=1e-4)
