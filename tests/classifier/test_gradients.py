"""The one-pass attention x gradient methods (what each differentiates) and integrated gradients
through the upper layers, on the tiny random BERT."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier import Classifier
from classifier.gradients import OBJECTIVES, gradient_pass
from classifier.types import ONE_PASS_METHODS, SIGNED_METHODS
from classifier.upper_gradients import encoder_layers, gauss_legendre, upper_integrated_gradients

TEXT = "great love it"  # one token per word


@pytest.fixture(scope="module")
def clf(tiny_model: Path) -> Classifier:
    return Classifier.load(str(tiny_model), device="cpu")


def chefer_signed_words(clf: Classifier, objective) -> list[float]:
    """Signed Chefer relevance of the words of ``TEXT`` for ``objective(logits)``, by hand."""
    ids = torch.tensor([clf.tokenizer(TEXT)["input_ids"]])
    inputs = clf.model.get_input_embeddings()(ids).detach().requires_grad_(True)
    out = clf._eager_twin()(inputs_embeds=inputs, output_attentions=True)
    grads = torch.autograd.grad(objective(out.logits[0]), out.attentions)
    relevance = torch.eye(ids.shape[1])
    for attention, grad in zip(out.attentions, grads, strict=True):
        relevance = relevance + (grad[0] * attention[0]).mean(dim=0) @ relevance
    tokens = relevance[0, 1:-1].detach()
    return (tokens / tokens.abs().sum()).tolist()


def logprob(logits: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits, dim=-1)[int(logits.argmax())]


def margin(logits: torch.Tensor) -> torch.Tensor:
    top, runner_up = logits.topk(2).values
    return top - runner_up


@pytest.mark.parametrize(
    ("method", "objective"), [("attn-grad-logprob", logprob), ("attn-grad-margin", margin)]
)
def test_each_method_differentiates_its_own_objective(clf: Classifier, method, objective) -> None:
    explanation = clf.explain(TEXT, method)
    assert explanation.method == method
    want = chefer_signed_words(clf, objective)
    assert explanation.signed_weights == pytest.approx(want, abs=1e-4)


def test_the_objectives_rank_words_differently(clf: Classifier) -> None:
    maps = {m: clf.explain(TEXT, m).signed_weights for m in ONE_PASS_METHODS}
    assert maps["attn-grad-margin"] != pytest.approx(maps["attn-grad"], abs=1e-3)
    assert maps["attn-grad-logprob"] != pytest.approx(maps["attn-grad"], abs=1e-3)


@pytest.mark.parametrize("method", ONE_PASS_METHODS)
def test_every_one_pass_method_is_signed_batched_and_contrastive(
    clf: Classifier, method: str
) -> None:
    assert method in SIGNED_METHODS and method in OBJECTIVES
    texts = [TEXT, "a much longer text so that the batch really is padded on the right"]
    for got, text in zip(clf.explain_many(texts, method), texts, strict=True):
        alone = clf.explain(text, method)
        assert got.signed_weights == pytest.approx(alone.signed_weights, abs=1e-4)
    contrast = clf.explain(TEXT, method, versus="positive")
    assert contrast.versus == "positive"
    assert contrast.signed_weights == pytest.approx(
        clf.explain(TEXT, "attn-grad", versus="positive").signed_weights, abs=1e-5
    )


def test_an_unknown_objective_is_refused(clf: Classifier) -> None:
    ids = torch.tensor([clf.tokenizer(TEXT)["input_ids"]])
    with pytest.raises(ValueError, match="unknown objective 'probability'"):
        gradient_pass(clf._eager_twin(), ids, torch.ones_like(ids), objective="probability")


def test_gradient_upper_scores_add_up_to_the_logit_change_from_the_baseline(
    clf: Classifier,
) -> None:
    model = clf._eager_twin()
    ids = torch.tensor([clf.tokenizer(TEXT)["input_ids"]])
    baseline = torch.full_like(ids, clf.tokenizer.pad_token_id)
    baseline[0, 0], baseline[0, -1] = ids[0, 0], ids[0, -1]
    with torch.no_grad():
        logits = model(input_ids=torch.cat([ids, baseline])).logits
    for versus in (None, 2):
        want = logits[0, 1] - logits[1, 1]
        if versus is not None:
            want = want - (logits[0, versus] - logits[1, versus])
        scores = upper_integrated_gradients(model, ids, baseline, 1, 32, versus)
        assert scores.shape == (ids.shape[1],)
        assert float(scores.sum()) == pytest.approx(float(want), abs=1e-3)
    with torch.no_grad():  # the hook is gone: the model answers as before
        assert torch.equal(model(input_ids=torch.cat([ids, baseline])).logits, logits)


def test_gradient_upper_is_a_signed_method_of_the_classifier(clf: Classifier) -> None:
    explanation = clf.explain(TEXT, "gradient-upper")
    assert explanation.method == "gradient-upper" and "gradient-upper" in SIGNED_METHODS
    assert len(explanation.signed_weights) == 3
    assert sum(abs(w) for w in explanation.signed_weights) == pytest.approx(1.0)
    assert clf.explain(TEXT, "gradient-upper", versus="positive").versus == "positive"


def test_encoder_layers_finds_the_stack_of_the_tiny_bert(clf: Classifier) -> None:
    assert encoder_layers(clf.model) is clf.model.bert.encoder.layer
    assert gauss_legendre(4)[1].sum() == pytest.approx(1.0)
