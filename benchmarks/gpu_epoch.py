"""One SST-2 epoch through the project's own loop (``training.finetune.train``), timed, with MFU.

Runs the default recipe (MiniLM-L6, bf16 autocast, fused AdamW on CUDA, widths padded to a
multiple of 8, the loss read every ``log_every`` steps) on the full SST-2 train set for one
epoch, with batches by rows (``--batch-size``, the seed's 16) and by a token budget
(``--max-tokens``), and reports for each: the epoch's wall time (the evaluation on the GLUE dev
set excluded), samples/s, and model FLOPs utilisation, MFU = 6 x parameters x real tokens/s /
peak dense bf16 FLOP/s of the card (``train_speed.PEAK_BF16_TFLOPS``). The issue's goal: one
epoch <= 5 s on one H100/H200.

Usage (on the GPU machine)::

    python benchmarks/gpu_epoch.py --datasets DIR --max-tokens 16384 32768

``--datasets DIR`` (or ``$HEED_DATASETS``): the folder described in benchmarks/README.md
(this script reads ``sst2/train.tsv`` and ``sst2/dev.tsv``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import _common  # noqa: F401  (sys.path, env defaults)
from _common import (
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    stratified_subsample,
    write_json,
)
from train_speed import peak_tflops

from training.progress import Silent


class Timer(Silent):
    """Progress that notes when the epoch's last step ends (before its evaluation); the clock
    starts with training, after the model is loaded and the texts tokenised."""

    def start(self, *, epochs: int, steps_per_epoch: int, train_rows: int, eval_rows: int) -> None:
        """Training begins: start the clock."""
        self.started = time.perf_counter()
        self.epoch_seconds = 0.0
        self.steps = 0

    def step(self, *, epoch: int, step: int, total_steps: int, loss: float, lr: float) -> None:
        """Reading the loss synchronised the device: the last step's time is the epoch's."""
        self.steps = step
        if step == total_steps:
            self.epoch_seconds = time.perf_counter() - self.started


def run(name: str, rows, dev, config, device) -> dict:
    """One epoch of ``config`` on ``rows``; dev accuracy, seconds, samples/s and MFU."""
    from classifier.base_model import resolve_base_model
    from classifier.cli_support import base_model
    from classifier.encoding import encode
    from training.finetune import train

    timer = Timer()
    base = resolve_base_model(base_model())
    outcome = train(rows, dev, base=base, config=config, device=device, progress=timer)
    encoded = encode(outcome.tokenizer, [r.text for r in rows], config.max_length)
    tokens = sum(len(e.input_ids) for e in encoded)
    params = sum(p.numel() for p in outcome.model.parameters())
    seconds = timer.epoch_seconds
    result = {
        "variant": name,
        "batch_size": config.batch_size,
        "max_tokens": config.max_tokens,
        "steps": timer.steps,
        "epoch_seconds": round(seconds, 2),
        "samples_per_s": len(rows) / seconds,
        "real_tokens_per_s": tokens / seconds,
        "dev_accuracy": outcome.metrics["accuracy"],
    }
    peak, card = peak_tflops((hardware().get("gpu") or {}).get("name", ""))
    if peak:
        result["mfu_real_tokens"] = 6 * params * tokens / seconds / (peak * 1e12)
        result["peak_tflops"], result["peak_card"] = peak, card
    print(f"[gpu_epoch] {result}", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    add_datasets_option(p)
    p.add_argument(
        "--max-tokens",
        type=int,
        nargs="*",
        default=[16384],
        help="token budgets per batch, one timed epoch each (default: 16384)",
    )
    p.add_argument("--batch-size", type=int, default=16, help="the row-count baseline")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    p.add_argument("--rows", type=int, default=None, help="a stratified subset (smoke tests)")
    p.add_argument("--out", default=str(default_out("gpu_epoch")), help="where the JSON results go")
    args = p.parse_args(argv)
    args.datasets = datasets_dir(p, args.datasets, ["sst2/train.tsv", "sst2/dev.tsv"])

    from classifier.device import pick_device
    from classifier.exports import read_export
    from training.config import TrainConfig

    device = pick_device(args.device)
    rows = read_export(args.datasets / "sst2" / "train.tsv")
    dev = read_export(args.datasets / "sst2" / "dev.tsv")
    if args.rows:
        rows = stratified_subsample(rows, args.rows, 42)
        dev = stratified_subsample(dev, args.rows, 42)
    base = TrainConfig(epochs=1)
    results = [run("rows", rows, dev, replace(base, batch_size=args.batch_size), device)]
    for budget in args.max_tokens:
        results.append(run(f"tokens {budget}", rows, dev, replace(base, max_tokens=budget), device))
    write_json(args.out, {"hardware": hardware(), "results": results, "argv": sys.argv[1:]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
