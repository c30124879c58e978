"""The one-pass attention x gradient methods: what each differentiates, on the tiny random BERT."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier import Classifier
from classifier.gradients import OBJECTIVES, gradient_pass
from classifier.types import ONE_PASS_METHODS, SIGNED_METHODS

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
