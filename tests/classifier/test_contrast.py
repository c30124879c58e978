"""Contrastive explanations: the label checks, and the margin the signed methods explain."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier import Classifier
from classifier.contrast import check_versus, contrast_target, label_index

LABELS = ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def clf(tiny_model: Path) -> Classifier:
    return Classifier.load(str(tiny_model), device="cpu")


def test_label_checks_name_the_problem() -> None:
    assert label_index(LABELS, None) is None
    assert label_index(LABELS, "positive") == 2
    with pytest.raises(ValueError, match=r"unknown label 'spam'.*negative, neutral, positive"):
        label_index(LABELS, "spam")
    with pytest.raises(ValueError, match="signed method"):
        check_versus("attention", LABELS, "neutral")
    check_versus("attn-grad", LABELS, "neutral")
    check_versus("attention", LABELS, None)
    assert contrast_target(LABELS, "negative", "positive") == 0
    with pytest.raises(ValueError, match="predicts 'positive'"):
        contrast_target(LABELS, "positive", "positive")


def runner_up(clf: Classifier, text: str) -> str:
    scores = clf.predict([text])[0].scores
    return sorted(scores, key=scores.get)[-2]


def test_attn_grad_versus_is_chefer_relevance_of_the_margin(clf: Classifier) -> None:
    text = "great love it"  # one token per word
    versus = runner_up(clf, text)
    explanation = clf.explain(text, "attn-grad", versus=versus)
    assert explanation.versus == versus
    assert explanation.to_dict()["versus"] == versus
    ids = torch.tensor([clf.tokenizer(text)["input_ids"]])
    inputs = clf.model.get_input_embeddings()(ids).detach().requires_grad_(True)
    out = clf._eager_twin()(inputs_embeds=inputs, output_attentions=True)
    logits = out.logits[0]
    margin = logits[int(logits.argmax())] - logits[clf.labels.index(versus)]
    grads = torch.autograd.grad(margin, out.attentions)
    relevance = torch.eye(ids.shape[1])
    for attention, grad in zip(out.attentions, grads, strict=True):
        relevance = relevance + (grad[0] * attention[0]).mean(dim=0) @ relevance
    tokens = relevance[0, 1:-1].detach()
    assert explanation.signed_weights == pytest.approx((tokens / tokens.abs().sum()).tolist())
    plain = clf.explain(text, "attn-grad")
    assert plain.versus is None
    assert plain.signed_weights != pytest.approx(explanation.signed_weights, abs=1e-3)


def test_batched_versus_matches_one_at_a_time(clf: Classifier) -> None:
    texts = ["awful broken refund please", "a much longer text so the batch is padded a lot"]
    predicted = {clf.predict([t])[0].label for t in texts}
    versus = next(label for label in LABELS if label not in predicted)
    batched = clf.explain_many(texts, "attn-grad", versus=versus)
    for got, text in zip(batched, texts, strict=True):
        alone = clf.explain(text, "attn-grad", versus=versus)
        assert got.signed_weights == pytest.approx(alone.signed_weights, abs=1e-4)
        assert got.versus == versus


def test_integrated_gradients_explain_the_margin_too(clf: Classifier) -> None:
    text = "the box arrived late but the product is fine overall"
    versus = runner_up(clf, text)
    explanation = clf.explain(text, "gradient", versus=versus)
    assert explanation.versus == versus
    assert len(explanation.signed_weights) == len(explanation.words)
    assert sum(abs(w) for w in explanation.signed_weights) == pytest.approx(1.0)
    assert explanation.signed_weights != pytest.approx(
        clf.explain(text, "gradient").signed_weights, abs=1e-3
    )


def test_bad_versus_requests(clf: Classifier) -> None:
    text = "great love it"
    predicted = clf.predict([text])[0].label
    with pytest.raises(ValueError, match="contrast it with another label"):
        clf.explain(text, "attn-grad", versus=predicted)
    with pytest.raises(ValueError, match="contrast it with another label"):
        clf.explain(text, "gradient", versus=predicted)
    with pytest.raises(ValueError, match="unknown label"):
        clf.explain_many([text], "attn-grad", versus="spam")
    with pytest.raises(ValueError, match="signed method"):
        clf.explain(text, "rollout", versus=runner_up(clf, text))
