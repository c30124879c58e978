"""Recipes for the default model (``make demo``): each trained on the bundled sample exactly as
``python -m training train --bundled-sample`` does, on selection seeds (their stratified 20 %
split judges it) and on the report seed ``make demo`` uses (42), with the CPU seconds of the
whole training process.

    .venv/bin/python benchmarks/default_model.py --seeds 1 --threads 1
    .venv/bin/python benchmarks/default_model.py --seeds 1 --report-seed 42 --recipes CHOSEN

Choose on the selection seeds' mean, then train the chosen recipe on the report seed. No
datasets needed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import default_out, hardware, table, write_json

CLS_PLAIN_2EP = ["--pooling", "cls", "--class-weights", "none", "--epochs", "2"]
RECIPES: dict[str, list[str]] = {
    "cls-plain-2ep": CLS_PLAIN_2EP,
    "cls-plain-2ep-lr2e-4": [*CLS_PLAIN_2EP, "--lr", "2e-4"],
    "cls-plain-2ep-lr5e-5": [*CLS_PLAIN_2EP, "--lr", "5e-5"],
    "mean-plain-2ep": ["--pooling", "mean", "--class-weights", "none", "--epochs", "2"],
    "cls-plain-3ep-bucketed": [
        *("--pooling", "cls", "--class-weights", "none", "--epochs", "3", "--max-tokens", "768"),
    ],
    # DEFAULT_MODEL_CONFIG exactly (no logit adjustment), then with it at two strengths.
    "cls-plain-2ep-la0": [*CLS_PLAIN_2EP, "--logit-adjustment", "0"],
    "cls-plain-2ep-la0.5": [*CLS_PLAIN_2EP, "--logit-adjustment", "0.5"],
    "cls-plain-2ep-la1": [*CLS_PLAIN_2EP, "--logit-adjustment", "1"],
    "cls-plain-2ep-bs32-lr2e-4": [
        *CLS_PLAIN_2EP,
        "--logit-adjustment",
        "0",
        "--batch-size",
        "32",
        "--lr",
        "2e-4",
    ],
}


TRAIN = [sys.executable, "-m", "training", "train", "--bundled-sample", "--json"]


def train_once(args: list[str], seed: int, threads: int) -> dict:
    """One ``train --bundled-sample`` run in a fresh store: its metrics and CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="heed-default-") as store:
        env = os.environ | {"HEED_MODEL_DIR": store, "HEED_TORCH_THREADS": str(threads)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        done = subprocess.run(
            [*TRAIN, "--seed", str(seed), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"train failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    metrics = result["metrics"]
    return {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "per_class": metrics.get("per_class", {}),
        "wall_s": round(wall, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="selection seeds")
    parser.add_argument(
        "--report-seed", type=int, help="also the split make demo uses (42), for the chosen one"
    )
    parser.add_argument(
        "--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES), help="which to train"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training")
    parser.add_argument(
        "--out", type=Path, default=default_out("default_model"), help="where the JSON goes"
    )
    args = parser.parse_args()

    runs = []
    for name in args.recipes:
        for seed in [*args.seeds, *([args.report_seed] if args.report_seed else [])]:
            run = {"recipe": name, "seed": seed, **train_once(RECIPES[name], seed, args.threads)}
            print(json.dumps(run), flush=True)
            runs.append(run)
            write_json(
                args.out,
                {
                    "benchmark": "default_model",
                    "hardware": hardware(),
                    "args": vars(args),
                    "runs": runs,
                },
            )
    rows = []
    for name in args.recipes:
        chosen = [r for r in runs if r["recipe"] == name and r["seed"] in args.seeds]
        report = [r for r in runs if r["recipe"] == name and r["seed"] == args.report_seed]
        rows.append(
            [
                name,
                f"{statistics.mean(r['accuracy'] for r in chosen):.3f}",
                f"{statistics.mean(r['macro_f1'] for r in chosen):.3f}",
                " ".join(f"{r['accuracy']:.3f} / {r['macro_f1']:.3f}" for r in report) or "—",
                f"{statistics.mean(r['cpu_s'] for r in chosen):.0f}",
            ]
        )
    print(
        table(["recipe", "selection acc", "selection macro-F1", "report acc / F1", "CPU s"], rows)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
