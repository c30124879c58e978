"""Which rows go together in a training step, and reading the loss without a sync per step.

Batches are grouped by length (HF's ``LengthGroupedSampler`` idea: shuffle, cut into
mega-batches, sort each by length), so short texts do not pay for long ones; by rows
(``batch_size``) or by a token budget (``max_tokens``, rows x padded width), which is what
keeps a GPU busy with short texts. Every epoch's batches are drawn up front from the seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from classifier.encoding import padded_width
from training.config import TrainConfig

MEGA_BATCH_FACTOR = 50


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffled batches whose rows have similar lengths (the longest batch goes first)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * MEGA_BATCH_FACTOR
    batches = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    longest = max(range(len(batches)), key=lambda b: max(lengths[i] for i in batches[b]))
    batches.insert(0, batches.pop(longest))
    return batches


def token_grouped_batches(
    lengths: Sequence[int], max_tokens: int, rng: random.Random, multiple: int = 1
) -> list[list[int]]:
    """Shuffled batches of similar-length rows, each at most ``max_tokens`` tokens once padded
    to its longest row (rounded up to ``multiple``); a row longer than the budget goes alone.
    The longest batch goes first, so running out of memory happens at once."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mean = max(1, sum(lengths) // max(1, len(lengths)))
    mega = MEGA_BATCH_FACTOR * max(1, max_tokens // mean)
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        current: list[int] = []
        for i in chunk:
            width = padded_width(lengths[current[0]] if current else lengths[i], multiple)
            if current and (len(current) + 1) * width > max_tokens:
                batches.append(current)
                current = []
            current.append(i)
        batches.append(current)
    rng.shuffle(batches)
    longest = max(range(len(batches)), key=lambda b: len(batches[b]) * lengths[batches[b][0]])
    batches.insert(0, batches.pop(longest))
    return batches


def epoch_plans(
    lengths: Sequence[int], config: TrainConfig, multiple: int = 1
) -> list[list[list[int]]]:
    """Every epoch's batches, drawn up front from the seed (so the schedule knows the number
    of steps even when token budgets make it vary)."""
    rng = random.Random(config.seed)
    if config.max_tokens:
        return [
            token_grouped_batches(lengths, config.max_tokens, rng, multiple)
            for _ in range(config.epochs)
        ]
    return [length_grouped_batches(lengths, config.batch_size, rng) for _ in range(config.epochs)]


class LossMeter:
    """The mean loss per row since the last read, summed on the device: reading it is the
    loop's only host sync, so it happens every ``log_every`` steps, not every step."""

    def __init__(self, device: torch.device) -> None:
        self._sum = torch.zeros((), device=device)
        self._rows = 0

    def add(self, loss_sum: torch.Tensor, rows: int) -> None:
        """Add a batch's summed loss over ``rows`` rows (no sync)."""
        self._sum += loss_sum.float()
        self._rows += rows

    def read(self) -> float:
        """The mean since the last read (one host sync), then start again."""
        value = float(self._sum) / max(1, self._rows)
        self._sum.zero_()
        self._rows = 0
        return value
