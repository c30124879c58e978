"""Fine-tune only the top encoder layers, running the frozen ones once per row.

With ``train_layers`` = k of an L-layer encoder, the embeddings and the bottom L - k layers are
frozen. Their output for every training row does not change during training, so it is computed
once (:func:`lower_states`, in the same pass as the pooled features the few-shot head starts
from) and each training step runs only the top k layers: :func:`upper_only` takes the bottom
layers out of the model's layer stack for the duration and feeds the cached states to the
first layer kept. A step then costs about k / L of a full one. The layers are put back on exit,
so the saved model is the whole model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from transformers import PreTrainedModel

from classifier.encoding import Encoded, collate
from classifier.pooling import mean_pool
from classifier.upper_gradients import encoder_layers


def frozen_count(model: PreTrainedModel, train_layers: int | None) -> int:
    """How many bottom layers stay frozen for ``train_layers`` trained ones (None: none
    frozen). ValueError unless 1 <= ``train_layers`` <= the model's layers."""
    total = len(encoder_layers(model))
    if train_layers is None:
        return 0
    if not 1 <= train_layers <= total:
        raise ValueError(f"train_layers must be between 1 and {total}, got {train_layers}")
    return total - train_layers


@torch.no_grad()
def lower_states(
    model: PreTrainedModel,
    encoded: Sequence[Encoded],
    pad_id: int,
    device: torch.device,
    frozen: int,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The mean-pooled last hidden states of ``encoded`` rows and, per row, the (unpadded)
    hidden states entering layer ``frozen`` (on the CPU; none kept when ``frozen`` is 0);
    eval mode, 64 rows a pass."""
    model.eval()
    pooled, states = [], []
    for start in range(0, len(encoded), 64):
        rows = encoded[start : start + 64]
        batch = {k: v.to(device) for k, v in collate(rows, pad_id).items()}
        out = model.base_model(**batch, output_hidden_states=bool(frozen))
        pooled.append(mean_pool(out.last_hidden_state, batch["attention_mask"]).float().cpu())
        if frozen:
            entering = out.hidden_states[frozen].cpu()
            states += [entering[i, : len(row.input_ids)] for i, row in enumerate(rows)]
    return torch.cat(pooled), states


def padded_states(states: Sequence[torch.Tensor]) -> torch.Tensor:
    """``states`` (tokens x hidden each) stacked and zero-padded to the longest, as
    :func:`classifier.encoding.collate` pads the token ids."""
    return torch.nn.utils.rnn.pad_sequence(list(states), batch_first=True)


def _parent_of(model: torch.nn.Module, child: torch.nn.Module) -> tuple[torch.nn.Module, str]:
    for module in model.modules():
        for name, value in module.named_children():
            if value is child:
                return module, name
    raise ValueError("the layer stack has no parent module")


@contextmanager
def upper_only(model: PreTrainedModel, frozen: int) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, ``model`` runs only its layers above the bottom ``frozen`` ones,
    which (with the embeddings) get no gradient; the first layer kept reads
    ``feed["states"]`` (set before each forward pass, ``batch x tokens x hidden`` as
    :func:`padded_states` gives) instead of what reaches it. ``frozen`` = 0: unchanged."""
    feed: dict[str, torch.Tensor] = {}
    if not frozen:
        yield feed
        return
    stack = encoder_layers(model)
    parent, name = _parent_of(model, stack)
    frozen_params = [p for p in model.base_model.parameters() if p.requires_grad]
    kept = {id(p) for layer in stack[frozen:] for p in layer.parameters()}
    for param in frozen_params:
        if id(param) not in kept:
            param.requires_grad_(False)

    def substitute(_module, args, kwargs):
        if "hidden_states" in kwargs:
            return args, {**kwargs, "hidden_states": feed["states"]}
        return (feed["states"], *args[1:]), kwargs

    handle = stack[frozen].register_forward_pre_hook(substitute, with_kwargs=True)
    setattr(parent, name, torch.nn.ModuleList(list(stack)[frozen:]))
    try:
        yield feed
    finally:
        setattr(parent, name, stack)
        handle.remove()
        for param in frozen_params:
            param.requires_grad_(True)
