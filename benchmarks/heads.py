"""Which vector the head reads: the [CLS] pooler (``cls``) or the mean of the token vectors
(``mean``), measured on the same rows in the same run.

Every run is what a user runs (``training.finetune.train`` with ``TrainConfig()`` defaults and
only ``pooling`` changed; the epoch is chosen on a stratified 20 % of the training rows, like
``run_train``) and is scored on rows it never saw:

* ``sst2``: ``--sst2-rows`` (default 2,000) stratified training phrases; GLUE dev (872);
* ``banking77-8``: ``--banking77-per-class`` (default 8) examples of each of the 77 intents
  (616 rows at 8); the test set (3,080);
* ``vader``: ``--vader-rows`` (default 1,000) VADER Amazon reviews; the next 1,000 as test.

Usage::

    python benchmarks/heads.py --datasets DIR            # CPU, about 10 minutes on 2 cores
    python benchmarks/heads.py --datasets DIR --tasks banking77-8 --banking77-per-class 20

``--datasets DIR`` (or ``$HEED_DATASETS``): the folder described in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace

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
from recipe_sweep import _csv

from classifier.base_model import resolve_base_model
from classifier.cli_support import base_model
from classifier.device import pick_device
from classifier.exports import Example, stratified_split
from classifier.model import Classifier
from training.config import TrainConfig
from training.evaluate import evaluate
from training.finetune import train

TASKS = ("sst2", "banking77-8", "vader")


def rows_for(task: str, args: argparse.Namespace) -> tuple[list[Example], list[Example]]:
    """``(training rows, unseen test rows)`` for ``task`` (``sst2``, ``banking77…`` with
    ``args.banking77_per_class`` rows per intent, ``vader``); ``calibration.py`` cuts the same."""
    if task == "sst2":
        everything = _tsv(args.datasets / "sst2/train.tsv")
        dev = _tsv(args.datasets / "sst2/dev.tsv")
        return stratified_subsample(everything, args.sst2_rows, args.seed), dev
    if task.startswith("banking77"):
        rows = _csv(args.datasets / "banking77/train.csv", "text", "category")
        test = _csv(args.datasets / "banking77/test.csv", "text", "category")
        random.Random(args.seed).shuffle(rows)
        per: dict[str, list[Example]] = {}
        for row in rows:
            if len(per.setdefault(row.label, [])) < args.banking77_per_class:
                per[row.label].append(row)
        return [r for label in sorted(per) for r in per[label]], test
    if task == "vader":
        rows = _csv(args.datasets / "vader_amazon/amazon_reviews.csv", "text", "label")
        random.Random(args.seed).shuffle(rows)
        n = args.vader_rows
        return rows[:n], rows[n : 2 * n]
    raise SystemExit(f"unknown task {task!r}")


def _tsv(path) -> list[Example]:
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Example(r["text"], r["label"], f"{path}:{i}") for i, r in enumerate(reader, 2)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    add_datasets_option(p)
    p.add_argument("--tasks", default=",".join(TASKS), help="comma list of " + ",".join(TASKS))
    p.add_argument("--sst2-rows", type=int, default=2000, help="sst2: stratified training rows")
    p.add_argument(
        "--vader-rows", type=int, default=1000, help="vader: training rows (the next as many: test)"
    )
    p.add_argument(
        "--banking77-per-class", type=int, default=8, help="banking77-8: training rows per intent"
    )
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--poolings", default="cls,mean", help="comma list of the heads to compare")
    p.add_argument("--seed", type=int, default=42, help="the cuts, the split and the training")
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda (default: cpu)")
    p.add_argument("--out", default=str(default_out("heads")), help="where the JSON results go")
    args = p.parse_args(argv)
    args.datasets = datasets_dir(p, args.datasets, ["sst2/train.tsv", "banking77/train.csv"])
    set_threads(args.threads)
    device = pick_device(args.device)
    base = resolve_base_model(base_model())
    runs = []
    for task in args.tasks.split(","):
        rows, test = rows_for(task, args)
        fit, held = stratified_split(rows, 0.2, args.seed)
        for pooling in args.poolings.split(","):
            config = replace(TrainConfig(seed=args.seed), pooling=pooling)
            started = time.monotonic()
            outcome = train(fit, held, base=base, config=config, device=device)
            seconds = time.monotonic() - started
            classifier = Classifier(
                outcome.model, outcome.tokenizer, version=pooling, device=device
            )
            report = evaluate(classifier, test)
            run = {
                "task": task if task != "banking77-8" else f"banking77-{args.banking77_per_class}",
                "pooling": pooling,
                "train_rows": len(fit),
                "epoch_choice_rows": len(held),
                "test_rows": len(test),
                "best_epoch": outcome.best_epoch,
                "test_accuracy": report["accuracy"],
                "test_macro_f1": report["macro_f1"],
                "train_seconds": round(seconds, 1),
            }
            print(f"[heads] {run}", file=sys.stderr, flush=True)
            runs.append(run)
            write_json(args.out, {"hardware": hardware(), "argv": sys.argv[1:], "runs": runs})
    print(
        table(
            ["task", "pooling", "train rows", "test rows", "test acc", "test macro-F1", "train s"],
            [
                [
                    r["task"],
                    r["pooling"],
                    r["train_rows"],
                    r["test_rows"],
                    f"{r['test_accuracy']:.4f}",
                    f"{r['test_macro_f1']:.4f}",
                    r["train_seconds"],
                ]
                for r in runs
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
