"""The few-shot recipe: with a handful of rows per label, learn from every row on a fixed
schedule instead of holding a fifth of them out to choose an epoch.

1. The encoder's mean-pooled embeddings (how all-MiniLM-L6-v2 was trained) are computed once,
   frozen, and the linear head starts as the multinomial logistic regression fitted on them
   (L2, sklearn's ``C``): the "frozen embeddings + logistic regression" baseline, as a start.
2. A short full fine-tune on a fixed number of steps: cross-entropy plus a supervised
   contrastive term over every pair in each batch (SetFit's idea, pulling same-label texts
   together and pushing the others apart, for the cost of one forward pass per row instead of
   two per pair).
3. Optionally (``refit_head``, off by default) the head is refit as the logistic regression on
   the tuned embeddings, SetFit's last step.

Only mean-pooled heads (:data:`classifier.pooling.MEAN_POOLING_HEADS`) can take it. With
``eval_rows`` the model is scored on them (and their logits kept, e.g. for calibration);
without, it is simply trained.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, get_linear_schedule_with_warmup

from classifier.base_model import BaseModelError
from classifier.encoding import Encoded, collate, encode
from classifier.exports import Example
from classifier.pooling import mean_pool, resolve_pooling
from training.config import TrainConfig
from training.evaluate import score
from training.finetune import TrainOutcome, check_eval_labels, load_base, seed_everything
from training.optimizer import adamw
from training.progress import Progress
from training.upper_layers import frozen_count, lower_states, padded_states, upper_only

log = logging.getLogger(__name__)

# ``auto`` picks the few-shot recipe when the smallest label has fewer training rows than this.
FEW_SHOT_BELOW = 20
RECIPES = ("auto", "standard", "few-shot")


@dataclass(frozen=True)
class FewShotSchedule:
    """The fixed schedule (no epoch choice); chosen by the runs in the README."""

    epochs: int = 10
    min_steps: int = 30
    lr: float = 5e-5
    contrastive_weight: float = 1.0
    temperature: float = 0.1
    head_c: float = 1.0
    # Refit the head as a logistic regression on the tuned embeddings at the end (SetFit's
    # second step) instead of keeping the head the fine-tune moved: on, it lost 0.25 points on
    # banking77 and 3.6-4.3 on VADER (8 per label, dev seed 7; README).
    refit_head: bool = False
    # Train only the top this-many encoder layers, the others run once per row
    # (training.upper_layers); None: every layer.
    train_layers: int | None = None
    # Every batch holds a pair of each label (drawn in turn from that label's rows), the rest
    # drawn at random: a rare label then always has a contrastive partner. Off: plain passes.
    pairs_per_label: bool = False


def smallest_class(rows: Sequence[Example]) -> int:
    """Rows of the rarest label in ``rows`` (0 when empty)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.label] = counts.get(row.label, 0) + 1
    return min(counts.values(), default=0)


def choose_recipe(recipe: str, rows: Sequence[Example], base: str, pooling: str) -> str:
    """The concrete recipe for ``recipe``: ``auto`` is ``few-shot`` when the smallest label has
    fewer than :data:`FEW_SHOT_BELOW` rows and the head can be mean-pooled, else ``standard``.
    Raises :class:`BaseModelError` when ``few-shot`` is asked of a head that cannot take it."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}: use {', '.join(RECIPES)}")
    if recipe == "standard":
        return recipe
    try:
        mean = pooling != "cls" and resolve_pooling(base, pooling) == "mean"
    except (OSError, ValueError) as exc:
        raise BaseModelError(f"cannot load base model {base} offline: {exc}") from exc
    if recipe == "few-shot":
        if not mean:
            raise BaseModelError(
                "the few-shot recipe needs mean pooling: this base's head cannot take it, or "
                "--pooling cls was asked for (use --recipe standard)"
            )
        return recipe
    return "few-shot" if mean and smallest_class(rows) < FEW_SHOT_BELOW else "standard"


def pooled(model: PreTrainedModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The mean-pooled last hidden states the head reads."""
    hidden = model.base_model(**batch).last_hidden_state
    return mean_pool(hidden, batch["attention_mask"])


@torch.no_grad()
def _in_batches(
    model: PreTrainedModel,
    encoded: Sequence[Encoded],
    pad_id: int,
    device: torch.device,
    output: Callable[[PreTrainedModel, dict[str, torch.Tensor]], torch.Tensor],
) -> torch.Tensor:
    """``output(model, batch)`` over ``encoded`` rows, 64 a pass in eval mode, on the CPU."""
    model.eval()
    parts = []
    for start in range(0, len(encoded), 64):
        batch = collate(encoded[start : start + 64], pad_id)
        parts.append(output(model, {k: v.to(device) for k, v in batch.items()}).float().cpu())
    return torch.cat(parts)


def fit_head(
    features: torch.Tensor, targets: torch.Tensor, classes: int, c: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of the L2 multinomial logistic regression on ``features`` (sklearn's
    objective: ``C`` x summed cross-entropy + half the squared weights), by L-BFGS."""
    weight = torch.zeros(classes, features.shape[1], requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], max_iter=200, line_search_fn="strong_wolfe", tolerance_grad=1e-6
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = features @ weight.T + bias
        loss = c * torch.nn.functional.cross_entropy(logits, targets, reduction="sum")
        loss = loss + 0.5 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach(), bias.detach()


@torch.no_grad()
def set_head(model: PreTrainedModel, weight: torch.Tensor, bias: torch.Tensor) -> None:
    """Copy ``weight`` and ``bias`` into the model's linear ``classifier``."""
    model.classifier.weight.copy_(weight.to(model.classifier.weight.dtype))
    model.classifier.bias.copy_(bias.to(model.classifier.bias.dtype))


def supervised_contrastive(
    vectors: torch.Tensor, targets: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Khosla et al.'s supervised contrastive loss over every pair in the batch: for each row
    with a same-label partner, minus the mean log-probability of its partners among all other
    rows (cosine similarity / ``temperature``). Zero when no row has a partner."""
    z = torch.nn.functional.normalize(vectors.float(), dim=-1)
    similarity = z @ z.T / temperature
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    similarity = similarity.masked_fill(eye, float("-inf"))
    log_prob = similarity - torch.logsumexp(similarity, dim=1, keepdim=True)
    partners = (targets[:, None] == targets[None, :]) & ~eye
    counts = partners.sum(1)
    has = counts > 0
    if not has.any():
        return vectors.sum() * 0.0
    mean_log = log_prob.masked_fill(~partners, 0.0).sum(1)[has] / counts[has]
    return -mean_log.mean()


def _batches(n: int, size: int, steps: int, rng: random.Random) -> list[list[int]]:
    """``steps`` batches of ``size`` rows: shuffled passes over all ``n`` rows."""
    order: list[int] = []
    while len(order) < steps * size:
        passing = list(range(n))
        rng.shuffle(passing)
        order.extend(passing)
    return [order[i * size : (i + 1) * size] for i in range(steps)]


def _paired_batches(
    targets: Sequence[int], size: int, steps: int, rng: random.Random
) -> list[list[int]]:
    """``steps`` batches of ``size`` rows, each opening with two rows of each of ``size`` // 2
    labels at most (all of them when they fit, else the next ones in a shuffled rotation; each
    label's rows dealt in shuffled turns), then rows of shuffled passes over all rows."""
    by_label: dict[int, list[int]] = {}
    for index, label in enumerate(targets):
        by_label.setdefault(label, []).append(index)
    queues: dict[int, list[int]] = {label: [] for label in by_label}

    def draw(label: int) -> int:
        if not queues[label]:
            queues[label] = rng.sample(by_label[label], len(by_label[label]))
        return queues[label].pop()

    fill = iter(_batches(len(targets), 1, steps * size, rng))
    labels = rng.sample(sorted(by_label), len(by_label))
    paired = min(len(labels), size // 2)
    batches = []
    for step in range(steps):
        turn = [labels[(step * paired + k) % len(labels)] for k in range(paired)]
        batch = [draw(label) for label in turn for _ in range(2)]
        while len(batch) < size:
            batch.append(next(fill)[0])
        batches.append(batch)
    return batches


def logits_of(
    model: PreTrainedModel, encoded: Sequence[Encoded], pad_id: int, device: torch.device
) -> torch.Tensor:
    """The model's logits for ``encoded`` rows (eval mode), on the CPU."""
    return _in_batches(model, encoded, pad_id, device, lambda m, batch: m(**batch).logits)


def train_few_shot(
    train_rows: Sequence[Example],
    eval_rows: Sequence[Example],
    *,
    base: str,
    config: TrainConfig,
    device: torch.device,
    progress: Progress | None = None,
    schedule: FewShotSchedule | None = None,
) -> TrainOutcome:
    """Train the few-shot recipe on every row of ``train_rows``; score on ``eval_rows`` (if
    any). ``config`` gives the seed, batch size, lengths, weight decay, warm-up and clipping."""
    schedule = schedule or FewShotSchedule()
    progress = progress or Progress()
    started = time.monotonic()
    seed_everything(config.seed)
    labels = check_eval_labels(train_rows, eval_rows)
    model, tokenizer = load_base(base, labels, "mean")
    model.to(device)
    model.get_input_embeddings().weight.requires_grad_(not config.freeze_word_embeddings)
    label_ids = {label: i for i, label in enumerate(labels)}
    encoded = encode(tokenizer, [e.text for e in train_rows], config.max_length)
    targets = torch.tensor([label_ids[e.label] for e in train_rows], dtype=torch.long)
    frozen = frozen_count(model, schedule.train_layers)
    features, states = lower_states(model, encoded, tokenizer.pad_token_id, device, frozen)
    set_head(model, *fit_head(features, targets, len(labels), schedule.head_c))
    per_epoch = math.ceil(len(encoded) / config.batch_size)
    total = max(schedule.min_steps, schedule.epochs * per_epoch)
    progress.start(
        epochs=1, steps_per_epoch=total, train_rows=len(train_rows), eval_rows=len(eval_rows)
    )
    try:
        with upper_only(model, frozen) as feed:
            # One lr for head and encoder (no head_lr_scale, which is for a head that starts at
            # random): this head starts as the logistic regression fitted above.
            optimizer = adamw(model, lr=schedule.lr, weight_decay=config.weight_decay)
            scheduler = get_linear_schedule_with_warmup(
                optimizer, math.ceil(config.warmup_ratio * total), total
            )
            model.train()
            rng = random.Random(config.seed)
            if schedule.pairs_per_label:
                plan = _paired_batches(targets.tolist(), config.batch_size, total, rng)
            else:
                plan = _batches(len(encoded), config.batch_size, total, rng)
            for step, rows in enumerate(plan, 1):
                batch = collate([encoded[i] for i in rows], tokenizer.pad_token_id)
                batch = {k: v.to(device) for k, v in batch.items()}
                if frozen:
                    feed["states"] = padded_states([states[i] for i in rows]).to(device)
                gold = targets[rows].to(device)
                vectors = pooled(model, batch)
                logits = model.classifier(model.dropout(vectors))
                loss = torch.nn.functional.cross_entropy(logits.float(), gold)
                if schedule.contrastive_weight:
                    contrast = supervised_contrastive(vectors, gold, schedule.temperature)
                    loss = loss + schedule.contrastive_weight * contrast
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                if step % config.log_every == 0 or step == total:
                    progress.step(
                        epoch=1,
                        step=step,
                        total_steps=total,
                        loss=float(loss.detach()),
                        lr=scheduler.get_last_lr()[0],
                    )
        if schedule.refit_head:
            features, _ = lower_states(model, encoded, tokenizer.pad_token_id, device, 0)
            set_head(model, *fit_head(features, targets, len(labels), schedule.head_c))
        metrics, held_logits = {}, None
        if eval_rows:
            held = encode(tokenizer, [e.text for e in eval_rows], config.max_length)
            held_logits = logits_of(model, held, tokenizer.pad_token_id, device)
            predicted = [labels[i] for i in held_logits.argmax(1).tolist()]
            metrics = score([e.label for e in eval_rows], predicted, labels)
            progress.epoch(epoch=1, metrics=metrics, best=True)
    finally:
        progress.close()
    model.eval()
    return TrainOutcome(
        model=model,
        tokenizer=tokenizer,
        labels=labels,
        metrics=metrics,
        best_epoch=1,
        device=str(device),
        seconds=time.monotonic() - started,
        pooling="mean",
        eval_logits=held_logits,
    )
