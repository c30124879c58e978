"""The fine-tuning loop: an encoder + classification head, AdamW with linear warm-up/decay,
best epoch kept.

Any architecture ``AutoModelForSequenceClassification`` knows (BERT, DistilBERT, XLM-R,
DeBERTa, ...): the word embeddings are found with ``get_input_embeddings()`` and the "head"
(learning ``head_lr_scale`` times faster) is every parameter outside ``model.base_model``,
plus the base model's own pooler where it has one (BERT's): :mod:`training.optimizer`.

Batches are padded dynamically and grouped by length (:mod:`training.batching`), by rows or
by a token budget. On CUDA: bf16 autocast, fused AdamW, widths padded to a multiple of 8; the
CPU trains in fp32. The loss is read back from the device every ``log_every`` steps only.
Under torchrun each global batch is split across the ranks (:mod:`training.distributed`).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    get_linear_schedule_with_warmup,
)

from classifier import Classifier
from classifier.base_model import BaseModelError, is_local
from classifier.encoding import Encoded, collate, encode
from classifier.exports import DataError, Example, Problem
from classifier.pooling import model_class, pooler, resolve_pooling
from training.batching import LossMeter, epoch_plans
from training.config import TrainConfig
from training.distributed import Dist
from training.evaluate import score
from training.optimizer import adamw
from training.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class TrainOutcome:
    """A trained model with its evaluation on the held-out rows."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    labels: list[str]
    metrics: dict
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    device: str = "cpu"
    seconds: float = 0.0
    # The concrete pooling (``auto`` resolved) and, from the few-shot recipe, the eval rows'
    # logits (the place a temperature is fitted).
    pooling: str = "cls"
    eval_logits: torch.Tensor | None = None


def seed_everything(seed: int) -> None:
    """Seed Python and torch (CPU and CUDA) so runs repeat."""
    random.seed(seed)
    torch.manual_seed(seed)


def balanced_weights(targets: torch.Tensor, classes: int) -> torch.Tensor:
    """``rows / (classes x rows of the class)`` per class (sklearn's "balanced")."""
    counts = torch.bincount(targets, minlength=classes).clamp(min=1).float()
    return len(targets) / (classes * counts)


def load_base(
    base: str, labels: Sequence[str], pooling: str = "cls"
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A sequence-classification model for ``labels`` on top of ``base`` (directory or hub id).

    A base that already has exactly these labels (an earlier Heed version) keeps its head;
    otherwise a new head is initialised. ``pooling`` picks the head's input
    (:mod:`classifier.pooling`; a mean-pooled model's unused pooler is frozen). Raises
    :class:`BaseModelError` when ``base`` cannot be read offline or cannot take ``pooling``.
    """
    id2label = dict(enumerate(labels))
    config_path = Path(base) / "config.json"
    same_head = False
    try:
        if is_local(base) and config_path.is_file():
            previous = json.loads(config_path.read_text(encoding="utf-8")).get("id2label") or {}
            same_head = len(previous) == len(labels) and all(
                previous.get(str(i)) == label for i, label in enumerate(labels)
            )
        # No attn_implementation: SDPA where the architecture has it (DeBERTa does not).
        model = model_class(base, pooling).from_pretrained(
            base,
            num_labels=len(labels),
            id2label=id2label,
            label2id={label: i for i, label in id2label.items()},
            ignore_mismatched_sizes=not same_head,
            local_files_only=True,
        )
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise BaseModelError(f"cannot load base model {base} offline: {exc}") from exc
    unused = pooler(model)
    if unused is not None:
        unused.requires_grad_(False)
    return model, tokenizer


def check_eval_labels(train_rows: Sequence[Example], eval_rows: Sequence[Example]) -> list[str]:
    """The training rows' labels, sorted; :class:`DataError` when an eval row's label never
    appears in the training rows."""
    labels = sorted({e.label for e in train_rows})
    unseen = sorted({e.label for e in eval_rows} - set(labels))
    if unseen:
        sources = {e.label: e.source for e in eval_rows}
        raise DataError(
            [
                Problem.at(sources[u], f"eval label {u!r} never appears in the training rows")
                for u in unseen
            ]
        )
    return labels


def _summary(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("accuracy", "macro_f1", "per_class")}


def _shared_evaluate(evaluator: Classifier, rows: Sequence[Example], dist: Dist) -> dict:
    """Each rank predicts its shard of ``rows``; the predictions are gathered and scored, so
    every rank computes the same metrics."""
    mine = [p.label for p in evaluator.predict([e.text for e in dist.shard(rows)])]
    predicted = dist.unshard(mine, len(rows))
    return score([e.label for e in rows], predicted, evaluator.labels)


def train(
    train_rows: Sequence[Example],
    eval_rows: Sequence[Example],
    *,
    base: str,
    config: TrainConfig,
    device: torch.device,
    progress: Progress | None = None,
    dist: Dist | None = None,
) -> TrainOutcome:
    """Fine-tune ``base`` on ``train_rows``; the epoch with the best eval macro-F1 is returned.

    With ``dist`` spanning several processes (torchrun), each global batch is split across
    the ranks (:meth:`Dist.share`) and the result is the same recipe as one process runs.
    """
    dist = dist or Dist()
    progress = progress or Progress()
    started = time.monotonic()
    seed_everything(config.seed)
    labels = check_eval_labels(train_rows, eval_rows)
    pooling = concrete_pooling(base, config.pooling)
    model, tokenizer = load_base(base, labels, pooling)
    model.to(device)
    # The 30k x hidden word-embedding matrix is half of a small BERT's weights; leaving it
    # frozen cuts a third of the CPU step time with no accuracy loss (README: runs).
    model.get_input_embeddings().weight.requires_grad_(not config.freeze_word_embeddings)
    trained = _data_parallel(model, device) if dist.active else model
    label_ids = {label: i for i, label in enumerate(labels)}
    encoded: list[Encoded] = encode(tokenizer, [e.text for e in train_rows], config.max_length)
    targets = torch.tensor([label_ids[e.label] for e in train_rows], dtype=torch.long)
    lengths = [len(row.input_ids) for row in encoded]
    weights = None
    if config.class_weights == "balanced":
        weights = balanced_weights(targets, len(labels)).to(device)
    multiple = 8 if device.type == "cuda" else 1  # tensor cores like multiples of 8
    plans = epoch_plans(lengths, config, multiple)
    total_steps = sum(map(len, plans))
    steps_per_epoch = math.ceil(total_steps / config.epochs)

    optimizer = adamw(
        model,
        lr=config.lr,
        weight_decay=config.weight_decay,
        head_lr_scale=config.head_lr_scale,
        fused=device.type == "cuda",
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, math.ceil(config.warmup_ratio * total_steps), total_steps
    )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    evaluator = Classifier(
        model, tokenizer, version="(training)", device=device, max_length=config.max_length
    )
    best_state: dict[str, torch.Tensor] | None = None
    best_f1, best_epoch, best_metrics = -1.0, 0, {}
    history: list[dict] = []
    progress.start(
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        train_rows=len(train_rows),
        eval_rows=len(eval_rows),
    )
    try:
        step = 0
        for epoch, plan in enumerate(plans, start=1):
            trained.train()
            losses = LossMeter(device)
            for number, global_batch in enumerate(plan, start=1):
                rows, weight = dist.share(global_batch)
                batch = collate([encoded[i] for i in rows], tokenizer.pad_token_id, multiple)
                batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
                with autocast:
                    logits = trained(**batch).logits
                loss = torch.nn.functional.cross_entropy(
                    logits.float(),
                    targets[rows].to(device, non_blocking=True),
                    weight=weights,
                    reduction="sum",
                )
                (loss * weight).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                losses.add(loss.detach(), len(rows))
                if step % config.log_every == 0 or number == len(plan):
                    progress.step(
                        epoch=epoch,
                        step=step,
                        total_steps=total_steps,
                        loss=losses.read(),
                        lr=scheduler.get_last_lr()[0],
                    )
            model.eval()  # no dropout: the metrics are the saved model's own
            metrics = _shared_evaluate(evaluator, eval_rows, dist)
            improved = metrics["macro_f1"] > best_f1
            history.append({"epoch": epoch, **_summary(metrics)})
            if improved:
                best_f1, best_epoch, best_metrics = metrics["macro_f1"], epoch, metrics
                if dist.is_main:  # only rank 0 writes the model
                    best_state = {
                        k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                    }
            progress.epoch(epoch=epoch, metrics=metrics, best=improved)
    finally:
        progress.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    log.info("best epoch %d of %d: macro-F1 %.4f", best_epoch, config.epochs, best_f1)
    return TrainOutcome(
        model=model,
        tokenizer=tokenizer,
        labels=labels,
        metrics=best_metrics,
        best_epoch=best_epoch,
        history=history,
        device=str(device),
        seconds=time.monotonic() - started,
        pooling=pooling,
    )


def concrete_pooling(base: str, pooling: str) -> str:
    """``pooling`` with ``auto`` resolved for ``base``; :class:`BaseModelError` when the base
    cannot be read offline or the pooling is unknown."""
    try:
        return resolve_pooling(base, pooling)
    except (OSError, ValueError) as exc:
        raise BaseModelError(f"cannot load base model {base} offline: {exc}") from exc


def _data_parallel(model: PreTrainedModel, device: torch.device) -> torch.nn.Module:
    """``model`` wrapped in DDP (the process group is already joined)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)
