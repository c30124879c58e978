"""The loop's batching for a busy device: token budgets, widths padded to a multiple of 8, and
the loss read back only every few steps."""

from __future__ import annotations

import io
import json
import random

import pytest
import torch

from classifier.encoding import Encoded, collate, padded_width
from training.batching import (
    LossMeter,
    epoch_plans,
    length_grouped_batches,
    token_grouped_batches,
)
from training.config import TrainConfig
from training.finetune import balanced_weights
from training.progress import Progress

_RNG = random.Random(0)
LENGTHS = [_RNG.randint(4, 60) for _ in range(500)]


def test_token_batches_hold_every_row_once_within_the_budget() -> None:
    batches = token_grouped_batches(LENGTHS, 512, random.Random(1), multiple=8)
    assert sorted(i for b in batches for i in b) == list(range(len(LENGTHS)))
    for batch in batches:
        width = padded_width(max(LENGTHS[i] for i in batch), 8)
        assert len(batch) * width <= 512
    sizes = [len(b) for b in batches]
    assert max(sizes) > 3 * min(sizes)  # short rows fill bigger batches
    first = batches[0]
    assert len(first) * LENGTHS[first[0]] == max(len(b) * LENGTHS[b[0]] for b in batches)


def test_a_row_over_the_budget_goes_alone() -> None:
    batches = token_grouped_batches([100, 5, 5, 5], 64, random.Random(0))
    assert [0] in batches and sorted(map(len, batches)) == [1, 3]


def test_plans_are_drawn_from_the_seed() -> None:
    rows = TrainConfig(epochs=3, batch_size=16)
    plans = epoch_plans(LENGTHS, rows)
    assert plans == epoch_plans(LENGTHS, rows) and plans[0] != plans[1]
    rng = random.Random(rows.seed)  # the row-count plan is the loop's historic one
    assert plans == [length_grouped_batches(LENGTHS, 16, rng) for _ in range(3)]
    tokens = epoch_plans(LENGTHS, TrainConfig(epochs=2, max_tokens=1024), multiple=8)
    assert len(tokens) == 2 and all(sum(map(len, p)) == len(LENGTHS) for p in tokens)


def test_collate_pads_to_a_multiple() -> None:
    rows = [Encoded([101, 7, 102], [(0, 0)] * 3, False), Encoded([101, 102], [(0, 0)] * 2, False)]
    assert collate(rows, 0)["input_ids"].shape == (2, 3)
    batch = collate(rows, 0, multiple=8)
    assert batch["input_ids"].shape == (2, 8)
    assert batch["attention_mask"].sum().item() == 5 and batch["input_ids"][0, 3:].sum() == 0


def test_loss_meter_reads_the_mean_since_the_last_read() -> None:
    meter = LossMeter(torch.device("cpu"))
    meter.add(torch.tensor(4.0), 2)
    meter.add(torch.tensor(2.0), 2)
    assert meter.read() == 1.5
    meter.add(torch.tensor(3.0), 1)
    assert meter.read() == 3.0


def test_sparse_step_reports_keep_plain_progress_lines() -> None:
    stream = io.StringIO()
    progress = Progress(stream=stream)
    progress.start(epochs=1, steps_per_epoch=95, train_rows=10, eval_rows=2)
    for step in range(10, 100, 10):
        progress.step(epoch=1, step=min(step, 95), total_steps=95, loss=0.5, lr=1e-4)
    progress.step(epoch=1, step=95, total_steps=95, loss=0.5, lr=1e-4)
    lines = [line for line in stream.getvalue().splitlines() if "step" in line]
    assert len(lines) >= 9 and "step 95/95" in lines[-1]
    jsonl = io.StringIO()
    progress = Progress(jsonl=True, stream=jsonl)
    progress.step(epoch=1, step=20, total_steps=95, loss=0.25, lr=1e-4)
    assert json.loads(jsonl.getvalue())["step"] == 20


def test_balanced_weights_lift_the_rare_class() -> None:
    targets = torch.tensor([0] * 18 + [1] * 1 + [2] * 1)
    weights = balanced_weights(targets, 3)
    assert weights.tolist() == pytest.approx([20 / 54, 20 / 3, 20 / 3])
    assert (weights * torch.bincount(targets)).sum().item() == pytest.approx(20)
