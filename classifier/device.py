"""Where a model runs: the CUDA-or-CPU choice (``HEED_DEVICE``) and torch's CPU thread pool
(``HEED_TORCH_THREADS``), shared by the bot, the CLIs and the benchmarks."""

from __future__ import annotations

import torch


def configure_threads(requested: int | None = None) -> int:
    """Size torch's intra-op pool: ``requested`` (``HEED_TORCH_THREADS``), else torch's
    default (one per core). Use 1 on a host shared with other busy processes: threads waiting at
    barriers for a descheduled sibling made a 40-word explanation 20x slower (benchmarks)."""
    value = requested or 0
    if value > 0 and torch.get_num_threads() != value:
        torch.set_num_threads(value)
    return torch.get_num_threads()


def pick_device(requested: str | None = None) -> torch.device:
    """``requested`` (``HEED_DEVICE``): ``auto`` (the default) picks CUDA when present, else
    the CPU."""
    choice = (requested or "auto").strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {choice!r} requested but CUDA is not available")
    if choice != "cpu" and not choice.startswith("cuda"):
        raise ValueError(f"unknown device {choice!r}: use auto, cpu or cuda")
    return torch.device(choice)
