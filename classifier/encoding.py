"""Tokenisation shared by prediction, explanation and training: dynamic padding, truncation.

Texts are tokenised once without padding; a batch is padded only to its own longest row.
Over-long texts are cut to ``max_length`` (keeping [CLS] ... [SEP]) and flagged, so callers
can tell the user the model saw only the beginning.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

# Fast (Rust) tokenizers raise "Already borrowed" when two threads call them at once.
_TOKENIZER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Encoded:
    """One tokenised text: ids with specials, character offsets, and whether it was cut."""

    input_ids: list[int]
    offsets: list[tuple[int, int]]
    truncated: bool


def encode(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int
) -> list[Encoded]:
    """Tokenise ``texts`` with special tokens, truncating each to ``max_length`` tokens."""
    with _TOKENIZER_LOCK:
        batch = tokenizer(
            list(texts),
            add_special_tokens=True,
            truncation=False,
            return_offsets_mapping=True,
            verbose=False,
        )
    sep = tokenizer.sep_token_id
    encoded = []
    for ids, offsets in zip(batch["input_ids"], batch["offset_mapping"], strict=True):
        truncated = len(ids) > max_length
        if truncated:
            ids = [*ids[: max_length - 1], sep]
            offsets = [*offsets[: max_length - 1], (0, 0)]
        encoded.append(Encoded(list(ids), [tuple(o) for o in offsets], truncated))
    return encoded


def padded_width(longest: int, multiple: int = 1) -> int:
    """``longest`` rounded up to a multiple of ``multiple`` (8 suits GPU tensor cores)."""
    return -(-longest // multiple) * multiple


def collate(rows: Sequence[Encoded], pad_id: int, multiple: int = 1) -> dict[str, torch.Tensor]:
    """Pad ``rows`` to the longest among them, rounded up to a multiple of ``multiple``;
    returns ``input_ids`` and ``attention_mask``."""
    width = padded_width(max(len(row.input_ids) for row in rows), multiple)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row.input_ids)] = torch.tensor(row.input_ids, dtype=torch.long)
        mask[i, : len(row.input_ids)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), to minimise padding."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def token_budget_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indices grouped longest first so that each batch, padded to its longest row, holds at
    most ``max_tokens`` tokens (a row longer than that goes alone)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches
