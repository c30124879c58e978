"""Training throughput of Heed's fine-tuning loop against the seed's fixed padding to 128.

Both loops fine-tune the same model (embedded all-MiniLM-L6-v2 + a 2-class head, same
initialisation), with the same batch size and optimiser (AdamW, TrainConfig's lr/weight decay,
linear warm-up schedule, grad-norm clipping), on the same rows: real SST-2 training phrases
(a stratified, seeded ``--rows`` subset of ``sst2/train.tsv``). They differ only in batching:

* ``seed``: the seed article's loop: every text padded to 128 tokens, plain shuffled batches,
  every parameter trained;
* ``heed``: the project's loop, built from ``training.finetune``'s own pieces
  (``encode`` once, ``length_grouped_batches``, ``collate`` = dynamic padding per batch,
  ``TrainConfig.freeze_word_embeddings``), exactly as ``training.finetune.train`` steps;
* ``heed (word emb. trainable)``: an ablation, the project's batching with the word embeddings
  trained too, to show how much of the gain is padding and how much is the frozen matrix.

Variants run in interleaved blocks of ``--block`` steps (round-robin), so machine noise hits
them alike; the first ``--warmup`` steps of each are not timed. Speed-ups are ratios of
samples/s measured in the same run; per-round ratios show the noise. The epoch time is projected
from samples/s for the ``--rows`` subset and for the full 67,349-row SST-2 train set.

With ``--device cuda`` the variants are: seed fp32, heed fp32, heed bf16 autocast (the
project's CUDA default), heed bf16 + ``torch.compile(dynamic=True)``, and seed bf16; each with
model FLOPs utilisation, MFU = 6 x params x tokens/s / peak dense bf16 FLOP/s of the card
(table ``PEAK_BF16_TFLOPS``), on processed (padded) tokens and on real tokens.

Usage::

    python benchmarks/train_speed.py --datasets DIR --steps 40     # CPU, a few minutes
    python benchmarks/train_speed.py --datasets DIR --device cuda --steps 300 --rows 8000

``--datasets DIR`` (or ``$HEED_DATASETS``) is required: the folder described in
benchmarks/README.md, "Datasets" (this script reads ``sst2/train.tsv``).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time

import _common  # noqa: F401  (sys.path, env defaults)
from _common import (
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    set_threads,
    stratified_subsample,
    table,
    write_json,
)

SEED_MAX_LENGTH = 128
SST2_TRAIN_ROWS = 67_349
# Dense (no sparsity) peak tensor-core throughput, TFLOP/s, from NVIDIA's data sheets.
PEAK_BF16_TFLOPS = {
    "H200": 989.4,  # SXM; H200 NVL 835
    "H100 SXM": 989.4,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.4,  # unknown form factor: assume SXM (the lent machines)
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        allow_abbrev=False,
        description="samples/s and epoch time of the project's loop vs fixed padding to 128.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_datasets_option(p)
    p.add_argument("--rows", type=int, default=2000, help="SST-2 training rows (stratified subset)")
    p.add_argument(
        "--steps", type=int, default=None, help="timed steps per variant (default 40 CPU, 300 CUDA)"
    )
    p.add_argument(
        "--block",
        type=int,
        default=None,
        help="steps per interleaved block (default 5 CPU, 25 CUDA)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed steps per variant (default 2 CPU, 10 CUDA)",
    )
    p.add_argument("--batch-size", type=int, default=None, help="default: TrainConfig().batch_size")
    p.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help="add a variant with token-budget batches (TrainConfig.max_tokens; pad x8 on CUDA)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument(
        "--no-ablation", action="store_true", help="skip the trainable-word-embedding ablation"
    )
    p.add_argument("--no-compile", action="store_true", help="CUDA: skip the torch.compile variant")
    p.add_argument("--seed", type=int, default=42, help="the rows drawn and the batch order")
    p.add_argument("--out", default=str(default_out("train_speed")), help="JSON results file")
    args = p.parse_args(argv)
    args.datasets = datasets_dir(p, args.datasets, ["sst2/train.tsv"])
    return args


def peak_tflops(name: str) -> tuple[float | None, str | None]:
    upper = name.upper()
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):
        if key.upper() in upper:
            return PEAK_BF16_TFLOPS[key], key
    return None, None


class Variant:
    """One training configuration with its own model, optimiser and endless batch stream."""

    def __init__(
        self,
        name,
        *,
        rows,
        labels,
        config,
        device,
        dynamic,
        freeze,
        bf16=False,
        compile_=False,
        seed=42,
        max_tokens=None,
    ):
        import torch
        from transformers import get_linear_schedule_with_warmup

        from classifier.base_model import resolve_base_model
        from classifier.cli_support import base_model
        from classifier.encoding import encode
        from training.finetune import load_base, seed_everything

        self.name, self.device, self.dynamic, self.bf16 = name, device, dynamic, bf16
        seed_everything(seed)  # every variant starts from the same head initialisation
        model, tokenizer = load_base(resolve_base_model(base_model()), labels)
        model.to(device).train()
        model.bert.embeddings.word_embeddings.weight.requires_grad_(not freeze)
        self.params = sum(p.numel() for p in model.parameters())
        self.params_nonembedding = self.params - sum(
            p.numel() for p in model.bert.embeddings.parameters()
        )
        self.model = model
        self.step_model = torch.compile(model, dynamic=True) if compile_ else model
        self.pad_id = tokenizer.pad_token_id
        label_ids = {label: i for i, label in enumerate(labels)}
        self.targets = torch.tensor([label_ids[r.label] for r in rows], dtype=torch.long)
        texts = [r.text for r in rows]
        if dynamic:
            self.encoded = encode(tokenizer, texts, config.max_length)
            self.lengths = [len(e.input_ids) for e in self.encoded]
        else:  # the seed: pad (and cut) every text to 128 once, up front
            enc = tokenizer(
                texts,
                padding="max_length",
                max_length=SEED_MAX_LENGTH,
                truncation=True,
                return_tensors="pt",
            )
            self.ids, self.mask = enc["input_ids"], enc["attention_mask"]
        trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm.weight")
        groups = [
            {
                "params": [p for n, p in trainable if not any(k in n for k in no_decay)],
                "weight_decay": config.weight_decay,
            },
            {
                "params": [p for n, p in trainable if any(k in n for k in no_decay)],
                "weight_decay": 0.0,
            },
        ]
        self.optimizer = torch.optim.AdamW(groups, lr=config.lr, fused=device.type == "cuda")
        total = 10_000
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, int(0.1 * total), total)
        self.max_grad_norm = config.max_grad_norm
        self.batch_size = config.batch_size
        self.max_tokens = max_tokens
        self.multiple = 8 if device.type == "cuda" else 1
        self.rng = random.Random(seed)
        self._stream = self._batches()
        self.timed_seconds = 0.0
        self.samples = self.real_tokens = self.padded_tokens = self.steps = 0
        self.round_sps: list[float] = []

    def _batches(self):
        from classifier.encoding import collate
        from training.batching import length_grouped_batches, token_grouped_batches

        n = len(self.targets)
        while True:
            if self.max_tokens:
                plan = token_grouped_batches(self.lengths, self.max_tokens, self.rng, self.multiple)
                for index in plan:
                    batch = collate([self.encoded[i] for i in index], self.pad_id, self.multiple)
                    yield batch, self.targets[index]
            elif self.dynamic:
                for index in length_grouped_batches(self.lengths, self.batch_size, self.rng):
                    batch = collate([self.encoded[i] for i in index], self.pad_id)
                    yield batch, self.targets[index]
            else:
                order = list(range(n))
                self.rng.shuffle(order)
                for s in range(0, n, self.batch_size):
                    index = order[s : s + self.batch_size]
                    yield (
                        {"input_ids": self.ids[index], "attention_mask": self.mask[index]},
                        self.targets[index],
                    )

    def step(self) -> tuple[int, int, int]:
        import torch

        batch, targets = next(self._stream)  # collate happens here (counted, as in train())
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            loss = self.step_model(**batch, labels=targets.to(self.device, non_blocking=True)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        mask = batch["attention_mask"]
        return int(mask.shape[0]), int(mask.sum()), int(mask.numel())

    def run(self, steps: int, *, timed: bool) -> None:
        import torch

        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        sync()
        start = time.perf_counter()
        s = real = padded = 0
        for _ in range(steps):
            a, b, c = self.step()
            s, real, padded = s + a, real + b, padded + c
        sync()
        elapsed = time.perf_counter() - start
        if timed:
            self.timed_seconds += elapsed
            self.samples += s
            self.real_tokens += real
            self.padded_tokens += padded
            self.steps += steps
            self.round_sps.append(s / elapsed)
        else:
            self.warmup_seconds = elapsed

    def result(self, peak: float | None) -> dict:
        sps = self.samples / self.timed_seconds
        out = {
            "steps": self.steps,
            "seconds": round(self.timed_seconds, 3),
            "samples_per_s": sps,
            "real_tokens_per_s": self.real_tokens / self.timed_seconds,
            "padded_tokens_per_s": self.padded_tokens / self.timed_seconds,
            "step_ms": 1e3 * self.timed_seconds / self.steps,
            "padding_efficiency": self.real_tokens / self.padded_tokens,
            "mean_padded_length": self.padded_tokens / self.samples,
            "warmup_seconds": round(getattr(self, "warmup_seconds", 0.0), 2),
            "params": self.params,
            "params_nonembedding": self.params_nonembedding,
        }
        if peak:
            flops = 6 * self.params
            out["mfu_processed_tokens"] = flops * out["padded_tokens_per_s"] / (peak * 1e12)
            out["mfu_real_tokens"] = flops * out["real_tokens_per_s"] / (peak * 1e12)
            out["mfu_nonembedding_processed_tokens"] = (
                6 * self.params_nonembedding * out["padded_tokens_per_s"] / (peak * 1e12)
            )
        return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from classifier.device import pick_device
    from classifier.exports import read_export
    from training.config import TrainConfig

    set_threads(args.threads)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or (300 if cuda else 40)
    block = args.block or (25 if cuda else 5)
    warmup = args.warmup if args.warmup is not None else (10 if cuda else 2)
    config = TrainConfig()
    if args.batch_size:
        from dataclasses import replace

        config = replace(config, batch_size=args.batch_size)
    rows = stratified_subsample(
        read_export(args.datasets / "sst2" / "train.tsv"), args.rows, args.seed
    )
    labels = sorted({r.label for r in rows})
    common = {"rows": rows, "labels": labels, "config": config, "device": device, "seed": args.seed}

    specs: list[tuple[str, dict]] = [
        (
            "seed (pad 128, shuffled)" + (" fp32" if cuda else ""),
            {"dynamic": False, "freeze": False},
        ),
        (
            "heed (dynamic pad, length-grouped)" + (" fp32" if cuda else ""),
            {"dynamic": True, "freeze": config.freeze_word_embeddings},
        ),
    ]
    if not args.no_ablation and not cuda:
        specs.append(("heed, word emb. trainable", {"dynamic": True, "freeze": False}))
    if cuda:
        specs.append(
            (
                "heed bf16 autocast",
                {"dynamic": True, "freeze": config.freeze_word_embeddings, "bf16": True},
            )
        )
        if not args.no_compile:
            specs.append(
                (
                    "heed bf16 + torch.compile",
                    {
                        "dynamic": True,
                        "freeze": config.freeze_word_embeddings,
                        "bf16": True,
                        "compile_": True,
                    },
                )
            )
        specs.append(("seed bf16", {"dynamic": False, "freeze": False, "bf16": True}))

    if args.max_tokens:
        specs.append(
            (
                f"heed, token batches ({args.max_tokens} tokens)" + (" bf16" if cuda else ""),
                {
                    "dynamic": True,
                    "freeze": config.freeze_word_embeddings,
                    "bf16": cuda,
                    "max_tokens": args.max_tokens,
                },
            )
        )
    variants = []
    for name, kw in specs:
        print(f"[train_speed] building {name}", file=sys.stderr, flush=True)
        variants.append(Variant(name, **common, **kw))
    failed: dict[str, str] = {}
    for v in list(variants):
        print(f"[train_speed] warm-up {v.name}: {warmup} steps", file=sys.stderr, flush=True)
        try:
            v.run(warmup, timed=False)
        except Exception as exc:  # e.g. torch.compile missing a compiler: report, go on
            if v is variants[0]:
                raise
            failed[v.name] = f"{type(exc).__name__}: {exc}"[:500]
            print(
                f"[train_speed] {v.name} failed in warm-up, dropped: {failed[v.name]}",
                file=sys.stderr,
            )
            variants.remove(v)
    rounds = math.ceil(steps / block)
    order = list(range(len(variants)))
    rng = random.Random(args.seed)
    for r in range(rounds):
        rng.shuffle(order)
        for i in order:
            variants[i].run(min(block, steps - r * block), timed=True)
        print(
            f"[train_speed] round {r + 1}/{rounds}: "
            + ", ".join(f"{v.name.split(' (')[0]} {v.round_sps[-1]:.1f}/s" for v in variants),
            file=sys.stderr,
            flush=True,
        )

    gpu_name = torch.cuda.get_device_name(0) if cuda else None
    peak, peak_key = peak_tflops(gpu_name) if gpu_name else (None, None)
    results = {v.name: v.result(peak) for v in variants}
    base = variants[0]
    for v in variants:
        r = results[v.name]
        r["speedup_vs_seed"] = r["samples_per_s"] / results[base.name]["samples_per_s"]
        per_round = [a / b for a, b in zip(v.round_sps, base.round_sps, strict=True)]
        r["speedup_per_round"] = {
            "median": statistics.median(per_round),
            "min": min(per_round),
            "max": max(per_round),
        }
        r["epoch_seconds_rows"] = len(rows) / r["samples_per_s"]
        r["epoch_seconds_full_sst2"] = SST2_TRAIN_ROWS / r["samples_per_s"]

    payload = {
        "benchmark": "train_speed",
        "hardware": hardware(),
        "device": str(device),
        "rows": len(rows),
        "batch_size": config.batch_size,
        "steps_per_variant": steps,
        "block": block,
        "warmup_steps": warmup,
        "peak_bf16_tflops_table": PEAK_BF16_TFLOPS,
        "peak_bf16_tflops_used": {"card": gpu_name, "key": peak_key, "tflops": peak}
        if cuda
        else None,
        "results": results,
        "failed_variants": failed,
        "goal": "heed samples/s >= 3x seed on CPU",
    }
    headers = [
        "variant",
        "samples/s",
        "step ms",
        "mean padded len",
        "pad eff.",
        "epoch s (rows)",
        "epoch s (67k)",
        "vs seed (round min–max)",
    ]
    trows = []
    for name, r in results.items():
        row = [
            name,
            f"{r['samples_per_s']:.1f}",
            f"{r['step_ms']:.0f}",
            f"{r['mean_padded_length']:.1f}",
            f"{r['padding_efficiency']:.0%}",
            f"{r['epoch_seconds_rows']:.0f}",
            f"{r['epoch_seconds_full_sst2']:.0f}",
            f"{r['speedup_vs_seed']:.2f}x ({r['speedup_per_round']['min']:.2f}–"
            f"{r['speedup_per_round']['max']:.2f})",
        ]
        if cuda:
            row.append(
                f"{100 * r.get('mfu_processed_tokens', float('nan')):.2f}% / "
                f"{100 * r.get('mfu_real_tokens', float('nan')):.2f}%"
            )
        trows.append(row)
    if cuda:
        headers.append("MFU processed / real tokens")
    payload["table"] = table(headers, trows)
    write_json(args.out, payload)
    print(f"wrote {args.out}")
    where = gpu_name or f"CPU {hardware()['cpu_model']}, {torch.get_num_threads()} torch threads"
    print(
        f"{where}; {len(rows)} SST-2 rows, batch {config.batch_size}, {steps} timed steps/variant "
        f"in blocks of {block}; goal on CPU: heed >= 3x seed samples/s"
    )
    if cuda and peak:
        print(
            f"MFU = 6 x {variants[0].params / 1e6:.1f}M params x tokens/s / {peak} TFLOP/s "
            f"({peak_key} bf16 dense)"
        )
    print(payload["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
