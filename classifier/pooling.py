"""How a version turns token vectors into the vector its head reads: ``cls`` or ``mean``.

``cls`` is the architecture's own head (BERT: the [CLS] token through the pooler). ``mean``
averages the last layer's token vectors over the attention mask, as sentence-transformers
trained all-MiniLM-L6-v2, and feeds that to the same dropout + linear classifier; the pooler
is left unused. A version records its pooling in ``heed.json`` (``pooling``); a version
without the key is ``cls``. Mean pooling is built for heads that are one ``classifier``
linear layer over the hidden size behind a ``dropout`` (BERT, MiniLM, ELECTRA-style
encoders); other architectures are refused. ``auto`` (the training default) is ``mean``
where the architecture's head takes it and ``cls`` elsewhere (:func:`resolve_pooling`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch
from transformers import AutoConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

from classifier.store import read_metadata

POOLINGS = ("cls", "mean")
POOLING_CHOICES = ("auto", *POOLINGS)
MEAN_POOLING_HEADS = ("BertForSequenceClassification",)


class MeanPooling:
    """Mixin before a ``…ForSequenceClassification`` class: masked mean of the last hidden
    states instead of the [CLS] pooler, then the class's own dropout and classifier."""

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: object,
    ) -> SequenceClassifierOutput:
        """Logits from the mean of the token vectors (and attentions when asked for)."""
        outputs = self.base_model(  # type: ignore[attr-defined]
            input_ids=input_ids,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            **kwargs,
        )
        pooled = mean_pool(outputs.last_hidden_state, attention_mask)
        logits = self.classifier(self.dropout(pooled))  # type: ignore[attr-defined]
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits, attentions=outputs.attentions)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """The mean of ``hidden`` (batch x tokens x width) over the tokens the mask keeps."""
    if attention_mask is None:
        mask = torch.ones(hidden.shape[:2], device=hidden.device, dtype=hidden.dtype)
    else:
        mask = attention_mask.to(hidden.dtype)
    return (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)


@cache
def _mean_pooled(cls: type[PreTrainedModel]) -> type[PreTrainedModel]:
    return type(f"MeanPooled{cls.__name__}", (MeanPooling, cls), {})


def _head_class(source: str) -> type[PreTrainedModel]:
    config = AutoConfig.from_pretrained(source, local_files_only=True)
    return MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(config)]


def resolve_pooling(source: str, pooling: str) -> str:
    """The concrete pooling (``cls`` or ``mean``) for ``pooling`` on ``source``: ``auto`` is
    ``mean`` where the architecture's head takes it, else ``cls``; others pass through.
    Raises ``ValueError`` for an unknown pooling."""
    if pooling not in POOLING_CHOICES:
        raise ValueError(f"unknown pooling {pooling!r}: use {', '.join(POOLING_CHOICES)}")
    if pooling != "auto":
        return pooling
    return "mean" if _head_class(source).__name__ in MEAN_POOLING_HEADS else "cls"


def model_class(source: str, pooling: str = "cls") -> type[PreTrainedModel]:
    """The class that loads ``source`` (a directory or cached hub id) for sequence
    classification with ``pooling`` (``auto`` resolved by :func:`resolve_pooling`). Raises
    ``ValueError`` for an unknown pooling or an architecture whose head mean pooling cannot
    feed."""
    pooling = resolve_pooling(source, pooling)
    cls = _head_class(source)
    if pooling == "cls":
        return cls
    if cls.__name__ not in MEAN_POOLING_HEADS:
        raise ValueError(f"mean pooling is not available for {cls.__name__}")
    return _mean_pooled(cls)


def pooling_of(path: Path) -> str:
    """The pooling a model directory was trained with (``heed.json``), ``cls`` without one."""
    return str(read_metadata(path).get("pooling") or "cls")


def pooler(model: torch.nn.Module) -> torch.nn.Module | None:
    """The [CLS] pooler a mean-pooled model leaves unused (to be frozen), or None."""
    if isinstance(model, MeanPooling):
        return getattr(model.base_model, "pooler", None)  # type: ignore[attr-defined]
    return None
