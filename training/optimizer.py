"""The AdamW set-up both recipes share (:mod:`training.finetune`, :mod:`training.few_shot`):
which parameters are the head, which get no weight decay, and their groups."""

from __future__ import annotations

import torch
from transformers import PreTrainedModel


def head_prefixes(model: PreTrainedModel) -> tuple[str, ...]:
    """Name prefixes of the freshly initialised head: every top-level child except the base
    model (``classifier.``, DistilBERT's ``pre_classifier.``, DeBERTa's ``pooler.``), plus the
    base model's pooler where it has one (BERT's ``bert.pooler.``)."""
    prefix = model.base_model_prefix
    heads = [f"{name}." for name, _ in model.named_children() if name != prefix]
    if getattr(model.base_model, "pooler", None) is not None and model.base_model is not model:
        heads.append(f"{prefix}.pooler.")
    return tuple(heads)


def no_decay_names(model: torch.nn.Module) -> set[str]:
    """Parameters that get no weight decay: biases and every normalisation layer's weights
    (``LayerNorm``, DistilBERT's ``sa_layer_norm``/``output_layer_norm``, RMS norms)."""
    names = {name for name, _ in model.named_parameters() if name.endswith("bias")}
    for module_name, module in model.named_modules():
        if "norm" in type(module).__name__.lower():
            names.update(
                f"{module_name}.{name}" if module_name else name
                for name, _ in module.named_parameters(recurse=False)
            )
    return names


def parameter_groups(
    model: PreTrainedModel, *, lr: float, weight_decay: float, head_lr_scale: float = 1.0
) -> list[dict]:
    """AdamW groups of the trainable parameters: ``weight_decay`` except on biases and
    normalisation layers (:func:`no_decay_names`); the freshly initialised head
    (:func:`head_prefixes`) learns at ``lr`` x ``head_lr_scale``, the encoder at ``lr``."""
    heads, no_decay = head_prefixes(model), no_decay_names(model)
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            head = name.startswith(heads)
            decay = name not in no_decay
            groups.setdefault((head, decay), []).append(param)
    return [
        {
            "params": params,
            "weight_decay": weight_decay if decay else 0.0,
            "lr": lr * (head_lr_scale if head else 1.0),
        }
        for (head, decay), params in groups.items()
    ]


def adamw(
    model: PreTrainedModel,
    *,
    lr: float,
    weight_decay: float,
    head_lr_scale: float = 1.0,
    fused: bool | None = None,
) -> torch.optim.AdamW:
    """AdamW over :func:`parameter_groups` of ``model`` (``fused``: torch's fused CUDA kernel;
    ``None`` lets torch choose)."""
    groups = parameter_groups(model, lr=lr, weight_decay=weight_decay, head_lr_scale=head_lr_scale)
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, fused=fused)
