"""The attribution arithmetic: rollout, word merging, normalisation."""

from __future__ import annotations

import torch

from classifier.explain import (
    attention_rollout,
    last_layer_attention,
    merge_signed,
    merge_to_words,
    normalise,
    split_words,
    token_word_index,
)
from classifier.gradients import attention_x_gradient


def test_rollout_of_identity_attention_is_identity_row() -> None:
    eye = torch.eye(4).expand(2, 4, 4)
    assert torch.allclose(attention_rollout([eye, eye]), torch.tensor([1.0, 0, 0, 0]))


def test_rollout_mixes_residual_and_multiplies_layers() -> None:
    uniform = torch.full((1, 2, 2), 0.5)
    # one layer: 0.5 * uniform + 0.5 * I = [[.75, .25], [.25, .75]]; two layers: its square.
    one = torch.tensor([[0.75, 0.25], [0.25, 0.75]])
    assert torch.allclose(attention_rollout([uniform]), one[0])
    assert torch.allclose(attention_rollout([uniform, uniform]), (one @ one)[0])


def test_last_layer_attention_is_cls_row_mean_over_heads() -> None:
    layer = torch.zeros(2, 3, 3)
    layer[0, 0] = torch.tensor([0.2, 0.8, 0.0])
    layer[1, 0] = torch.tensor([0.0, 0.4, 0.6])
    assert torch.allclose(last_layer_attention([layer]), torch.tensor([0.1, 0.6, 0.3]))


def test_wordpieces_merge_back_into_typed_words() -> None:
    text = "Great!! antidisestablishment"
    words, starts = split_words(text)
    assert words == ["Great!!", "antidisestablishment"]
    offsets = [(0, 0), (0, 5), (5, 6), (6, 7), (8, 12), (12, 15), (15, 28), (0, 0)]
    index = token_word_index(offsets, starts)
    assert index == [None, 0, 0, 0, 1, 1, 1, None]
    scores = torch.tensor([9.0, 1, 1, 1, 2, 2, 2, 9])
    assert merge_to_words(scores, index, 2) == [1 / 3, 2 / 3]


def test_normalise_handles_zeros_and_empty() -> None:
    assert normalise([0.0, 0.0]) == [0.5, 0.5]
    assert normalise([]) == []


def test_merge_signed_keeps_signs_and_scales_absolutes_to_one() -> None:
    index = [None, 0, 0, 1, 2, None]
    scores = torch.tensor([5.0, 1, 1, -4, 2, 5])
    assert merge_signed(scores, index, 3) == [0.25, -0.5, 0.25]
    assert merge_signed(torch.zeros(3), [None, 0, None], 1) == [0.0]


def test_attention_x_gradient_follows_chefer_keeping_signs() -> None:
    attention = torch.tensor([[[0.5, 0.5], [0.5, 0.5]]])
    grad = torch.tensor([[[1.0, -1.0], [2.0, 2.0]]])
    # one layer: R = I + (grad * A) @ I = [[1.5, -0.5], [1, 2]]; [CLS] row, [CLS] zeroed.
    assert torch.allclose(attention_x_gradient([attention], [grad]), torch.tensor([0.0, -0.5]))
    # two layers: R = (I + M) + M (I + M) with M = [[0.5, 1], [0, 0]]
    grad = torch.tensor([[[1.0, 2.0], [0.0, 0.0]]])
    m = torch.tensor([[0.5, 1.0], [0.0, 0.0]])
    one = torch.eye(2) + m
    want = (one + m @ one)[0].clone()
    want[0] = 0.0
    assert torch.allclose(attention_x_gradient([attention] * 2, [grad] * 2), want)
