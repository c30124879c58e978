"""The ``attn-grad`` explanation: attention × gradient from one forward and one backward pass.

Integrated gradients (``classifier.explain.integrated_gradients``) run the model forwards and
backwards once per quadrature step, one text at a time. :func:`gradient_pass` runs it once
for a whole padded batch, with gradients enabled from the word embeddings on, and
differentiates each text's predicted-class logit with respect to every layer's attention
weights. :func:`attention_x_gradient` turns those into token relevance for the [CLS] token:
Chefer et al. 2021 ("Generic Attention-model Explainability", eq. 5–6 for self-attention
encoders), ``R = I``; per layer ``R += mean_h(∇A ⊙ A) R``; the [CLS] row, except that the
negative part of ``∇A ⊙ A`` is kept rather than clamped away, so the scores are signed:
positive = evidence for the predicted class, negative = against it. On SST-2 and VADER the
signed variant ranked words as well as or better than the clamped one (benchmarks/README.md).

``attn-grad-mix`` adds the relevance for the mean of every token's final state, which is what a
mean-pooled head (the default, :mod:`classifier.pooling`) reads, to the [CLS] row: on rows held
out of the choice it ranked words as IG did, at attn-grad's cost (benchmarks/README.md).

A contrastive explanation ("why A, not B") differentiates the margin ``logit[A] - logit[B]``
instead of ``logit[A]``: the same one backward pass, so it costs what a plain map costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GradientPass:
    """What one forward + backward pass gives for one text of the batch (CPU, float32,
    cut to the text's own tokens)."""

    logits: torch.Tensor
    """``[labels]``: the model's logits for the text."""
    target: int
    """The predicted class, whose logit was differentiated."""
    versus: int | None
    """The class the target was contrasted with (its logit subtracted), or None."""
    attentions: list[torch.Tensor]
    """Per layer ``[heads, tokens, tokens]`` attention weights (empty when none)."""
    attention_grads: list[torch.Tensor]
    """The gradients of ``attentions`` (empty when none)."""


def gradient_pass(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    versus: int | None = None,
) -> list[GradientPass]:
    """Run ``model`` once on a right-padded batch with gradients from the word embeddings on,
    and differentiate each text's predicted-class logit (their sum: the texts do not
    interact, so each text gets its own gradients), or with ``versus``, each text's margin
    between its predicted class and class ``versus``. One result per text."""
    lookup = _embedding_lookup(model)
    with torch.enable_grad():
        inputs = lookup(input_ids).detach().requires_grad_(True)
        out = model(inputs_embeds=inputs, attention_mask=attention_mask, output_attentions=True)
        targets = out.logits.argmax(dim=-1)
        objective = out.logits.gather(1, targets[:, None])
        if versus is not None:
            objective = objective - out.logits[:, versus : versus + 1]
        chosen = objective.sum()
        attentions = [a for a in (out.attentions or ()) if a is not None and a.requires_grad]
        grads = torch.autograd.grad(chosen, attentions) if attentions else ()
    logits = out.logits.detach().float().cpu()
    attentions = [a.detach().float().cpu() for a in attentions]
    attention_grads = [g.float().cpu() for g in grads]
    passes = []
    for i, length in enumerate(attention_mask.sum(dim=1).tolist()):
        passes.append(
            GradientPass(
                logits=logits[i],
                target=int(targets[i]),
                versus=versus,
                attentions=[a[i, :, :length, :length] for a in attentions],
                attention_grads=[g[i, :, :length, :length] for g in attention_grads],
            )
        )
    return passes


def _embedding_lookup(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The word-embedding lookup, bypassing the module's hooks where it is a plain
    ``nn.Embedding`` (captum's integrated gradients hook that module in another thread)."""
    embed = model.get_input_embeddings()
    if isinstance(embed, torch.nn.Embedding):
        return lambda ids: torch.nn.functional.embedding(ids, embed.weight, embed.padding_idx)
    return embed


def attention_x_gradient(
    attentions: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    with_token_mean: bool = False,
) -> torch.Tensor:
    """Signed relevance of each token for [CLS] (Chefer et al. 2021 without the clamp):
    ``[tokens]``, with [CLS]'s own score set to 0. ``with_token_mean`` (``attn-grad-mix``):
    plus the relevance for the mean of every token (what a mean-pooled head reads), the
    identity taken out; each part scaled to absolute values summing to 1."""
    size = attentions[0].shape[-1]
    relevance = torch.eye(size, dtype=attentions[0].dtype)
    for attention, grad in zip(attentions, grads, strict=True):
        relevance = relevance + (grad * attention).mean(dim=0) @ relevance
    scores = relevance[0].clone()
    scores[0] = 0.0  # [CLS] on itself is the identity's 1, not evidence
    if not with_token_mean:
        return scores
    token_mean = (relevance - torch.eye(size, dtype=relevance.dtype)).mean(dim=0)
    return _unit_mass(scores) + _unit_mass(token_mean)


def _unit_mass(scores: torch.Tensor) -> torch.Tensor:
    """``scores`` scaled so that their absolute values sum to 1 (all zeros stay zeros)."""
    return scores / scores.abs().sum().clamp(min=1e-12)
