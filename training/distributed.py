"""Data-parallel training across processes started by ``torchrun`` (DDP).

``torchrun --nproc-per-node N -m training train …`` starts N copies of the CLI with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` set; :func:`Dist.from_env` joins them into one process group
(NCCL on CUDA, gloo on the CPU). Without those variables (a plain ``python -m training``) the
run is a world of one and nothing here touches ``torch.distributed``.

How the ranks share the work (``training.finetune``): every rank builds the same shuffled,
length-grouped batch list from the same seed, and each global batch is split row-wise across
the ranks, its loss scaled so that DDP's gradient average equals the single-process batch
mean. The recipe (batch size, steps, learning-rate schedule) is therefore the same for any
number of processes. Evaluation is sharded and the predictions gathered, so every rank agrees
on the best epoch. Only rank 0 writes the version, and only after every rank has said it
finished (:meth:`Dist.all_succeeded`); a rank that fails makes that collective fail (or
torchrun stops the others), so no version is published.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as torch_dist

T = TypeVar("T")

TIMEOUT = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class Dist:
    """This process's place in the run: ``rank`` of ``world_size`` (``local_rank`` on its
    machine). A world of one is a plain single-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one rank that reports progress, writes and promotes the version."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """More than one process takes part."""
        return self.world_size > 1

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Dist:
        """The rank and world size torchrun put in ``env`` (the entry point passes its
        environment; a world of one without them)."""
        world = int(env.get("WORLD_SIZE", "1") or 1)
        if world <= 1:
            return cls()
        return cls(int(env["RANK"]), world, int(env.get("LOCAL_RANK", "0")))

    def device(self, device: torch.device) -> torch.device:
        """The device this rank trains on: ``cuda:LOCAL_RANK`` when training on CUDA."""
        if self.active and device.type == "cuda" and device.index is None:
            return torch.device("cuda", self.local_rank)
        return device

    def init(self, device: torch.device) -> None:
        """Join the process group (NCCL for CUDA, gloo for the CPU); a no-op for one process."""
        if not self.active or torch_dist.is_initialized():
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
            torch_dist.init_process_group("nccl", timeout=TIMEOUT, device_id=device)
        else:
            torch_dist.init_process_group("gloo", timeout=TIMEOUT)

    def close(self) -> None:
        """Leave the process group (when this process joined one)."""
        if self.active and torch_dist.is_initialized():
            torch_dist.destroy_process_group()

    def share(self, batch: Sequence[int]) -> tuple[list[int], float]:
        """This rank's rows of a global ``batch`` and the loss weight that makes the ranks'
        averaged gradient the batch mean: ``world_size / len(batch)``. A rank left without
        rows (a batch smaller than the world) still runs its first row, with weight 0, so the
        gradient all-reduce stays in step."""
        rows = list(batch[self.rank :: self.world_size])
        if not rows:
            return [batch[0]], 0.0
        return rows, self.world_size / len(batch)

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's share of ``items`` (every ``world_size``-th, from ``rank``)."""
        return list(items[self.rank :: self.world_size])

    def unshard(self, mine: Sequence[T], total: int) -> list[T]:
        """Every rank's :meth:`shard` results gathered back into the original order."""
        if not self.active:
            return list(mine)
        parts: list[Any] = [None] * self.world_size
        torch_dist.all_gather_object(parts, list(mine))
        merged: list[Any] = [None] * total
        for rank, part in enumerate(parts):
            merged[rank :: self.world_size] = part
        return merged

    def all_succeeded(self) -> None:
        """Return only when every rank reaches this point; a rank that failed or died makes
        it raise (or torchrun stops this process), so the caller publishes nothing."""
        if not self.active:
            return
        torch_dist.all_reduce(torch.ones(1, device=_collective_device()))


def _collective_device() -> torch.device:
    if torch_dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
