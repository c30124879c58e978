"""Word attributions: attention, rollout and integrated gradients; merging tokens into words.

- ``attention``: the last layer's [CLS] row, averaged over heads (what the model's pooled
  representation read directly).
- ``rollout``: attention rollout (Abnar & Zuidema 2020): each layer's head-mean attention
  mixed with the identity for the residual stream, ``0.5 * A + 0.5 * I``, rows renormalised,
  multiplied through the layers; the [CLS] row of the product.
- ``gradient``: integrated gradients (Sundararajan et al. 2017) on the model's own input
  embeddings (``model.get_input_embeddings()``, whatever the architecture) with captum's
  ``LayerIntegratedGradients``, baseline = [CLS] [PAD]... [SEP] (``<s> <pad>... </s>`` for
  XLM-R); signed (positive = evidence *for* the predicted class, negative = *against*).
- ``attn-grad`` (signed attention x gradient) lives in :mod:`classifier.gradients`.

The attention methods need an architecture that returns attention weights; the caller
(:class:`classifier.model.Classifier`) checks that.

Token scores are merged into the whitespace-separated words the person typed; [CLS], [SEP]
and padding are dropped and the word weights (the positive part) renormalised to sum to 1;
:func:`merge_signed` keeps the signs for the signed methods.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

import torch

WORD = re.compile(r"\S+")


def split_words(text: str) -> tuple[list[str], list[int]]:
    """The whitespace-separated words of ``text`` and their start offsets."""
    matches = list(WORD.finditer(text))
    return [m.group() for m in matches], [m.start() for m in matches]


def token_word_index(
    offsets: Sequence[tuple[int, int]], word_starts: Sequence[int]
) -> list[int | None]:
    """For each token, the index of the word it belongs to; None for special tokens."""
    index: list[int | None] = []
    for start, end in offsets:
        if start == end:
            index.append(None)
            continue
        index.append(max(bisect.bisect_right(word_starts, start) - 1, 0))
    return index


def merge_to_words(
    token_scores: torch.Tensor, token_words: Sequence[int | None], n_words: int
) -> list[float]:
    """Sum token scores per word (specials dropped) and normalise to 1 over the words seen."""
    totals = [0.0] * n_words
    for score, word in zip(token_scores.tolist(), token_words, strict=True):
        if word is not None:
            totals[word] += max(score, 0.0)
    return normalise(totals)


def merge_signed(
    token_scores: torch.Tensor, token_words: Sequence[int | None], n_words: int
) -> list[float]:
    """Sum signed token scores per word (specials dropped), scaled so that the absolute values
    sum to 1 (all zeros stay zeros)."""
    totals = [0.0] * n_words
    for score, word in zip(token_scores.tolist(), token_words, strict=True):
        if word is not None:
            totals[word] += score
    scale = sum(abs(v) for v in totals)
    return [v / scale for v in totals] if scale > 0 else totals


def normalise(values: Sequence[float]) -> list[float]:
    """Scale non-negative ``values`` to sum to 1 (uniform when they are all zero)."""
    total = float(sum(values))
    if not values:
        return []
    if total <= 0.0:
        return [1.0 / len(values)] * len(values)
    return [v / total for v in values]


def cls_attention_per_layer(attentions: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[layers, tokens]``: each layer's head-mean attention from [CLS] to every token
    (``attentions``: one ``[heads, tokens, tokens]`` tensor per layer, one text)."""
    return torch.stack([layer.mean(dim=0)[0] for layer in attentions])


def last_layer_attention(attentions: Sequence[torch.Tensor]) -> torch.Tensor:
    """The ``attention`` method: last layer, [CLS] row, mean over heads."""
    return attentions[-1].mean(dim=0)[0]


def attention_rollout(attentions: Sequence[torch.Tensor]) -> torch.Tensor:
    """The ``rollout`` method: residual-aware attention rollout, [CLS] row."""
    size = attentions[0].shape[-1]
    eye = torch.eye(size, dtype=attentions[0].dtype, device=attentions[0].device)
    rollout = eye
    for layer in attentions:
        mixed = 0.5 * layer.mean(dim=0) + 0.5 * eye
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        rollout = mixed @ rollout
    return rollout[0]


def integrated_gradients(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    target: int,
    baseline_ids: torch.Tensor,
    steps: int,
    versus: int | None = None,
) -> torch.Tensor:
    """The ``gradient`` method: per-token integrated gradients w.r.t. the input embeddings
    (the word-embedding lookup; positions and the rest of the model are left as they are) of
    class ``target``'s logit, or of its margin over class ``versus``."""
    from captum.attr import LayerIntegratedGradients

    def forward(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = model(input_ids=ids, attention_mask=mask).logits
        if versus is None:
            return logits[:, target]
        return logits[:, target] - logits[:, versus]

    explainer = LayerIntegratedGradients(forward, model.get_input_embeddings())
    attributions = explainer.attribute(
        inputs=input_ids,
        baselines=baseline_ids,
        additional_forward_args=(attention_mask,),
        n_steps=steps,
        internal_batch_size=steps,
    )
    return attributions.sum(dim=-1)[0].detach()
