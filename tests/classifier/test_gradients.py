"""attn-grad's relevance maths: the [CLS] row, and attn-grad-mix's token mean added to it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier import Classifier
from classifier.gradients import attention_x_gradient


def random_layers(seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Two layers of two heads over four tokens: row-stochastic attentions, signed gradients."""
    generator = torch.Generator().manual_seed(seed)
    attentions = [torch.rand(2, 4, 4, generator=generator).softmax(dim=-1) for _ in range(2)]
    grads = [torch.randn(2, 4, 4, generator=generator) for _ in range(2)]
    return attentions, grads


def chefer(attentions: list[torch.Tensor], grads: list[torch.Tensor]) -> torch.Tensor:
    relevance = torch.eye(4)
    for attention, grad in zip(attentions, grads, strict=True):
        relevance = relevance + (grad * attention).mean(dim=0) @ relevance
    return relevance


def test_plain_attn_grad_is_the_cls_row_without_cls_itself() -> None:
    attentions, grads = random_layers()
    want = chefer(attentions, grads)[0].clone()
    want[0] = 0.0
    assert torch.allclose(attention_x_gradient(attentions, grads), want)


def test_the_mix_adds_the_mean_over_every_tokens_row_each_part_at_unit_mass() -> None:
    attentions, grads = random_layers(1)
    relevance = chefer(attentions, grads)
    cls_row = relevance[0].clone()
    cls_row[0] = 0.0
    token_mean = (relevance - torch.eye(4)).mean(dim=0)
    want = cls_row / cls_row.abs().sum() + token_mean / token_mean.abs().sum()
    got = attention_x_gradient(attentions, grads, with_token_mean=True)
    assert torch.allclose(got, want, atol=1e-6)


def test_the_mix_of_nothing_stays_zero() -> None:
    attentions = [torch.eye(3).expand(2, 3, 3)]
    grads = [torch.zeros(2, 3, 3)]
    got = attention_x_gradient(attentions, grads, with_token_mean=True)
    assert torch.equal(got, torch.zeros(3))


def test_the_classifier_batches_the_mix_like_attn_grad(tiny_model: Path) -> None:
    clf = Classifier.load(str(tiny_model), device="cpu")
    texts = ["great love it", "a much longer text so that the batch really is padded on the right"]
    for got, text in zip(clf.explain_many(texts, "attn-grad-mix"), texts, strict=True):
        alone = clf.explain(text, "attn-grad-mix")
        assert got.method == "attn-grad-mix" and got.signed_weights
        assert got.signed_weights == pytest.approx(alone.signed_weights, abs=1e-4)
    assert clf.explain(texts[0], "attn-grad-mix", versus="positive").versus == "positive"
